// dswg: deformable sliding-window generator, the sampler of a deformable convolution (ONNX
// DeformConv; DCNv1, and DCNv2 with a mask); the HLS twin of hw/rtl/dswg.v, computing
// exactly what gen/archgen/units/dswg.py sample() computes, in integers.
//
// For output pixel (oh, ow), tap k = (i, j) and channel c of offset group g = c / (C/OG),
// with x' = x - X_ZERO (0 outside the input) and F = FRAC:
//   py = (oh*SH - PT + i*DH) * 2^F + dy        dy = offset[g*2K + 2k]      (signed codes)
//   px = (ow*SW - PL + j*DW) * 2^F + dx        dx = offset[g*2K + 2k + 1]
//   y0 = py >> F, fy = py mod 2^F; x0 = px >> F, fx = px mod 2^F
//   s  = x'[y0, x0] (2^F-fy)(2^F-fx) + x'[y0, x0+1] (2^F-fy) fx
//      + x'[y0+1, x0] fy (2^F-fx)    + x'[y0+1, x0+1] fy fx          (corners outside: 0)
//   out[k*C + c] = s * (m - MASK_ZERO), m = mask[g*K + k]   (HAS_MASK)
//                = s                                       (otherwise)
//
// Streams (one call = one frame):
//   in   : H*W words of CHANNELS codes (BITS bits each), raster order;
//   off  : OH*OW words of OG*2*K offset codes (OFF_BITS bits, signed when OFF_SIGNED);
//   mask : OH*OW words of OG*K mask codes (MASK_W / (OG*K) bits, signed when MASK_SIGNED),
//          only in the HAS_MASK overload;
//   out  : OH*OW*K*CHANNELS/SIMD words of SIMD values (OUT_BITS bits, two's complement),
//          tap-major (k*CHANNELS + c), channels minor.
//
// Offsets: when CLAMP, every offset code is first clamped to [OFF_LO, OFF_HI] (the bounded
// offsets of units/dswg.py, |offset| <= R pixels, R*2^F codes), at OFF_BITS + 1 bits, as
// sample() clips them; otherwise the codes cannot leave that range anyway.
//
// Storage: ROWS buffer rows (LINE: a ring of BUFFER_ROWS rows; otherwise the whole frame,
// ROWS = H), one word (a pixel's CHANNELS raw codes) per pixel, in four banks by (slot
// parity, column parity): input row r lives in slot s = r mod ROWS (r itself for a whole
// frame), its pixel c is word (s/2)*WB + c/2 of bank 2*(s%2) + c%2 (WB = ceil(W/2)).
// ROWS is even in a ring, so s and r have the same parity: the four corners of a sample,
// rows y0 and y0+1 and columns x0 and x0+1, have the four parities, each bank holds
// exactly one of them and they are read in one cycle: bank (rp, cp) holds corner (dy, dx)
// = ((rp - y0) mod 2, (cp - x0) mod 2).  Each bank has ceil(ROWS/2)*WB words
// (BUFFER_ROWS/2 * ceil(W/2) in a ring).  The banks are one array partitioned completely
// along its first dimension; a bank is written and read in the same cycle (ram_s2p).
//
// Rows read: with offsets within [OFF_LO, OFF_HI] (R = -ROW_LO0 - PT whole pixels), output
// row oh reads input rows base .. base + ROW_SPAN - 1 only, base = oh*SH + ROW_LO0
// (ROW_SPAN = (KH-1)*DH + 2R + 2; rows outside the frame are zeros).  In a ring, the slot
// of a corner row yy is base_slot + (yy - base), less ROWS when it passes the end,
// base_slot = base mod ROWS kept as base moves by SH per output row: no division.
//
// Schedule: one pipelined loop (II=1) interleaves a writer and a sampler, as swg.h does;
// each iteration
//   - writes one input word when the frame has rows left and row `rows_in` (the one being
//     written) may overwrite its slot: LINE: rows_in < base + ROWS (the row it replaces,
//     rows_in - ROWS, is above the first row the current output row reads, and no later
//     output row reads it) or every output word of the frame is out; whole frame: always;
//   - emits one output word (output pixel, tap, channel chunk) when the rows the current
//     output row reads are complete: rows_in >= min(H, base + ROW_SPAN) (LINE) or
//     rows_in >= H (whole frame), reading the pixel's offset (and mask) word on its first
//     word.
// A whole frame is therefore received before the first output word: H*W + OUT_BEATS
// iterations, the cycles units/dswg.py derive() gives for it.  In a ring, receiving
// overlaps sampling: min(H, ROW_LO0 + ROW_SPAN) rows are written before the first output
// word, then the writer runs ahead of the sampler by at most ROWS rows minus what the
// current output row still reads.  When an output row's words (OW*K*CF) are at least the
// stride's input words (SH*W), the writer keeps ahead and a frame takes
// min(H, ROW_LO0 + ROW_SPAN)*W + OUT_BEATS iterations (derive()'s cycles for a ring, the
// RTL's, also overlap a frame's first rows with the previous frame's last output row,
// which one call per frame does not do); otherwise the writer sets the pace (about H*W
// plus the last output row's words).  The loop ends when both sides are done, after at most
// H*W + OUT_BEATS iterations.  The sampler only reads complete rows and the writer never
// overwrites a row an output row still reads (nor the slot of the row it is writing), so
// the same bank word is never written and read in one iteration.  An iteration that takes
// an input word waits for it (a blocking read), also when it emits.  One call is one
// frame: the writer does not run into the next frame (the next call).
//
// Input lead (the FIFO rule of a DCN block, whose offsets come from a conv over the same
// input): when the sampler reads the offsets of output row oh, it has taken at most
// (oh*SH + ROW_LO0 + ROWS)*W input words, i.e. at most (ROWS - R)*W beyond the rows
// above the row's first window row (oh*SH - PT), within derive()'s lead_beats
// (min(H, BUFFER_ROWS + 1)*W); a whole frame takes all H*W first.
//
// Optional C-simulation hooks (test benches only; nothing when undefined):
// ARCHGEN_DSWG_TRACE_OFFSET(oh, taken) at every offset-word read (taken: input words
// accepted so far, this iteration's included) and ARCHGEN_DSWG_TRACE_FRAME(iterations) at
// the end of a call.
//
// Config C (a layer header's struct of static const ints; flags 0/1):
//   BITS, SIGNED, BIPOLAR (the input codes), CHANNELS, SIMD, H, W, OH, OW, KH, KW, SH, SW,
//   DH, DW, PT, PL, OG (offset groups), FRAC, X_BITS (signed width of x'), POS_BITS
//   (signed width of py and px), OFF_BITS, OFF_SIGNED, CLAMP, OFF_LO, OFF_HI (the offset
//   codes' range after the clamp), LINE (ring of rows), BUFFER_ROWS (its rows; H when not
//   LINE), ROW_LO0, ROW_SPAN (the rows an output row reads, above), HAS_MASK, MASK_W (the
//   mask word's width, 0 without a mask), MASK_SIGNED, M_BITS (signed width of
//   m - MASK_ZERO, 0 without a mask), SAMPLE_BITS (signed width of s), OUT_BITS; static
//   const long long X_ZERO, MASK_ZERO.
#pragma once

#include "thresholds.h"  // ap_int.h, hls_stream.h and elementwise::extend

namespace archgen {
namespace dswg_detail {

constexpr int max_int(int a, int b) { return a > b ? a : b; }
constexpr int posmod(int v, int m) { return ((v % m) + m) % m; }  // v mod m in [0, m)

// The mask input of a sampler without a mask: never read.
struct no_mask {
    ap_uint<1> read() { return 0; }
};

template <class C, class MaskStream>
void frame(hls::stream<ap_uint<C::CHANNELS * C::BITS> > &in,
           hls::stream<ap_uint<C::OG * 2 * C::KH * C::KW * C::OFF_BITS> > &off,
           MaskStream &mask,
           hls::stream<ap_uint<C::SIMD * C::OUT_BITS> > &out) {
#pragma HLS INLINE
    static_assert(C::BITS >= 1 && (!C::BIPOLAR || C::BITS == 1),
                  "dswg: BITS must be >= 1 (1 when bipolar)");
    static_assert(C::H >= 1 && C::W >= 1 && C::OH >= 1 && C::OW >= 1, "dswg: sizes must be >= 1");
    static_assert(C::KH >= 1 && C::KW >= 1 && C::SH >= 1 && C::SW >= 1 && C::DH >= 1 &&
                      C::DW >= 1, "dswg: kernel, strides and dilations must be >= 1");
    static_assert(C::OG >= 1 && C::CHANNELS % C::OG == 0,
                  "dswg: OG must divide CHANNELS");
    static_assert(C::SIMD >= 1 && (C::CHANNELS / C::OG) % C::SIMD == 0,
                  "dswg: SIMD must divide the channels of an offset group");
    static_assert(C::FRAC >= 0 && C::POS_BITS > C::FRAC + 1, "dswg: POS_BITS must exceed FRAC + 1");
    static_assert(C::OFF_BITS >= 1 && C::OFF_LO <= 0 && C::OFF_HI >= 0,
                  "dswg: OFF_BITS >= 1, OFF_LO <= 0 <= OFF_HI");
    static_assert(C::CLAMP || C::POS_BITS >= C::OFF_BITS + (C::OFF_SIGNED ? 0 : 1),
                  "dswg: POS_BITS must hold an offset code");
    static_assert(C::X_BITS >= 2 && C::SAMPLE_BITS >= C::X_BITS, "dswg: X_BITS, SAMPLE_BITS");
    static_assert(!C::HAS_MASK || (C::M_BITS >= 2 && C::MASK_W >= C::OG * C::KH * C::KW &&
                                   C::MASK_W % (C::OG * C::KH * C::KW) == 0),
                  "dswg: MASK_W must be OG*K mask codes, M_BITS >= 2");
    static_assert(C::OUT_BITS >= 1 &&
                      C::OUT_BITS <= C::SAMPLE_BITS + (C::HAS_MASK ? C::M_BITS : 0),
                  "dswg: OUT_BITS must not exceed the product's width");
    // the rows an output row reads: R = -PT - ROW_LO0 whole pixels of offset either way
    static_assert(C::ROW_LO0 <= -C::PT &&
                      C::ROW_SPAN == (C::KH - 1) * C::DH + 2 * (-C::PT - C::ROW_LO0) + 2 &&
                      ((long long)(-C::PT - C::ROW_LO0) << C::FRAC) >=
                          (C::OFF_HI > -(long long)C::OFF_LO ? C::OFF_HI : -(long long)C::OFF_LO),
                  "dswg: ROW_LO0 and ROW_SPAN must cover the offsets' reach");
    static_assert(!C::LINE || (C::BUFFER_ROWS % 2 == 0 &&
                               C::BUFFER_ROWS >= C::ROW_SPAN + C::SH && C::BUFFER_ROWS < C::H),
                  "dswg: a ring has an even number of rows >= ROW_SPAN + SH, fewer than H");

    const int K = C::KH * C::KW;
    const int CG = C::CHANNELS / C::OG;   // channels per offset group
    const int CF = C::CHANNELS / C::SIMD; // chunks (output words) per tap
    const int GCF = CG / C::SIMD;         // chunks per offset group
    const int OFF_N = C::OG * 2 * K;      // offset codes per word
    const int ROWS = C::LINE ? C::BUFFER_ROWS : C::H;  // buffer rows (slots)
    const int WB = (C::W + 1) / 2;        // words per bank row
    const int DEPTH = (ROWS + 1) / 2 * WB;
    const int IN_BEATS = C::H * C::W;
    const int OUT_BEATS = C::OH * C::OW * K * CF;
    const int STEPS = IN_BEATS + OUT_BEATS;
    const int ONE = 1 << C::FRAC;
    const int CB = C::POS_BITS - C::FRAC + 1;  // a corner coordinate (y0 and y0 + 1)
    const int WW = 2 * C::FRAC + 1;            // a corner's weight, 0..2^2F
    const int OFW = C::OFF_BITS + 1;           // an offset code before the clamp
    // x and the mask codes minus their zero points at widths holding code, zero point
    // and difference
    const int XW = max_int(C::BITS + 1, C::X_BITS) + 1;
    const int MCB = C::HAS_MASK ? C::MASK_W / (C::OG * K) : 1;  // mask code bits
    const int MW = C::HAS_MASK ? C::MASK_W : 1;
    const int MB = C::HAS_MASK ? C::M_BITS : 2;
    const int MDW = max_int(MCB + 1, MB) + 1;
    const int PW = C::SAMPLE_BITS + (C::HAS_MASK ? MB : 0);  // an output value
    typedef ap_uint<C::CHANNELS * C::BITS> word_t;

    word_t bank[4][DEPTH];
#pragma HLS ARRAY_PARTITION variable=bank complete dim=1
#pragma HLS BIND_STORAGE variable=bank type=ram_s2p

    // writer: complete rows, the slot of the row being written, its column
    int rows_in = 0, w_slot = 0, wc = 0;
    int taken = 0;  // input words accepted (for the trace hook)
    // sampler: loops oh, ow, i, j (k = i*KW + j), cf (g = cf / GCF, gc = cf mod GCF)
    int ow = 0, i = 0, j = 0, k = 0, cf = 0, g = 0, gc = 0, oh = 0;
    int by0 = -C::PT, bx0 = -C::PL;  // the window's first row and column
    int by = -C::PT, bx = -C::PL;    // the tap's row and column (without offset)
    // the first row the output row reads, its slot, and the rows it needs complete
    int base = C::LINE ? C::ROW_LO0 : 0;
    int base_slot = C::LINE ? posmod(C::ROW_LO0, ROWS) : 0;
    int need_end = C::LINE ? C::ROW_LO0 + C::ROW_SPAN : C::H;
    bool emitted = false;  // every output word of the frame is out
    ap_uint<OFF_N * C::OFF_BITS> offw = 0;
    ap_uint<MW> maskw = 0;
    int iterations = 0;  // for the trace hook (no logic in synthesis: never read)
    for (int t = 0; t < STEPS; t++) {
#pragma HLS PIPELINE II=1
        const bool take = rows_in < C::H && (!C::LINE || rows_in < base + ROWS || emitted);
        const bool emit = !emitted && rows_in >= (need_end < C::H ? need_end : C::H);
        if (!take && !emit) break;  // both sides are done
        iterations++;
        if (take) taken++;

        // sampler first: it reads complete rows only, never the one being written
        if (emit) {
            if (k == 0 && cf == 0) {
                offw = off.read();
                if (C::HAS_MASK) maskw = mask.read();
#ifdef ARCHGEN_DSWG_TRACE_OFFSET
                ARCHGEN_DSWG_TRACE_OFFSET(oh, taken);
#endif
            }
            const int oi = g * 2 * K + 2 * k;
            ap_int<OFW> rdy = elementwise::extend<OFW, C::OFF_BITS, C::OFF_SIGNED, 0>(
                offw.range(oi * C::OFF_BITS + C::OFF_BITS - 1, oi * C::OFF_BITS));
            ap_int<OFW> rdx = elementwise::extend<OFW, C::OFF_BITS, C::OFF_SIGNED, 0>(
                offw.range(oi * C::OFF_BITS + 2 * C::OFF_BITS - 1, oi * C::OFF_BITS + C::OFF_BITS));
            if (C::CLAMP) {
                rdy = rdy < C::OFF_LO ? ap_int<OFW>(C::OFF_LO) : rdy > C::OFF_HI ? ap_int<OFW>(C::OFF_HI) : rdy;
                rdx = rdx < C::OFF_LO ? ap_int<OFW>(C::OFF_LO) : rdx > C::OFF_HI ? ap_int<OFW>(C::OFF_HI) : rdx;
            }
            const ap_int<C::POS_BITS> dy = rdy;
            const ap_int<C::POS_BITS> dx = rdx;
            const ap_int<C::POS_BITS> py = (ap_int<C::POS_BITS>(by) << C::FRAC) + dy;
            const ap_int<C::POS_BITS> px = (ap_int<C::POS_BITS>(bx) << C::FRAC) + dx;
            const ap_int<CB> y0 = py >> C::FRAC;
            const ap_int<CB> x0 = px >> C::FRAC;
            const ap_uint<C::FRAC + 1> fy = py & (ONE - 1);
            const ap_uint<C::FRAC + 1> fx = px & (ONE - 1);
            const ap_uint<C::FRAC + 1> wy[2] = {ap_uint<C::FRAC + 1>(ONE - fy), fy};
            const ap_uint<C::FRAC + 1> wx[2] = {ap_uint<C::FRAC + 1>(ONE - fx), fx};

            // the four corners, one per bank
            word_t cw[4];
            bool inside[4];
            ap_uint<WW> cwt[4];
            for (int b = 0; b < 4; b++) {
#pragma HLS UNROLL
                const int ry = ((b >> 1) ^ int(y0[0])) & 1;  // the corner bank b holds
                const int rx = (b ^ int(x0[0])) & 1;
                const ap_int<CB> yy = y0 + ry;
                const ap_int<CB> xx = x0 + rx;
                inside[b] = yy >= 0 && yy < C::H && xx >= 0 && xx < C::W;
                int slot = base_slot + (int(yy) - base);  // 0 <= yy - base < ROW_SPAN inside
                if (slot >= ROWS) slot -= ROWS;
                const int addr = inside[b] ? (slot >> 1) * WB + int(xx >> 1) : 0;
                cw[b] = bank[b][addr];
                cwt[b] = wy[ry] * wx[rx];
            }

            ap_int<MB> m = 1;
            if (C::HAS_MASK) {
                const int mi = g * K + k;
                const ap_int<MDW> mc = elementwise::extend<MDW, MCB, C::MASK_SIGNED, 0>(
                    maskw.range(mi * MCB + MCB - 1, mi * MCB));
                m = mc - ap_int<MDW>(C::MASK_ZERO);
            }

            ap_uint<C::SIMD * C::OUT_BITS> beat = 0;
            for (int l = 0; l < C::SIMD; l++) {
#pragma HLS UNROLL
                const int ch = cf * C::SIMD + l;
                ap_int<C::SAMPLE_BITS> s = 0;
                for (int b = 0; b < 4; b++) {
#pragma HLS UNROLL
                    const ap_int<XW> xc = elementwise::extend<XW, C::BITS, C::SIGNED, C::BIPOLAR>(
                        cw[b].range(ch * C::BITS + C::BITS - 1, ch * C::BITS));
                    const ap_int<C::X_BITS> xv = xc - ap_int<XW>(C::X_ZERO);
                    if (inside[b]) s += xv * cwt[b];
                }
                ap_int<PW> v = s;
                if (C::HAS_MASK) v = s * m;
                beat.range(l * C::OUT_BITS + C::OUT_BITS - 1, l * C::OUT_BITS) = ap_uint<C::OUT_BITS>(v);
            }
            out.write(beat);
        }

        if (take) {
            bank[(w_slot & 1) * 2 + (wc & 1)][(w_slot >> 1) * WB + (wc >> 1)] = in.read();
            if (wc != C::W - 1) {
                wc++;
            } else {
                wc = 0;
                rows_in++;
                w_slot = w_slot == ROWS - 1 ? 0 : w_slot + 1;
            }
        }

        if (emit) {
            if (cf != CF - 1) {
                cf++;
                if (gc != GCF - 1) {
                    gc++;
                } else {
                    gc = 0;
                    g++;
                }
            } else {
                cf = 0;
                gc = 0;
                g = 0;
                if (j != C::KW - 1) {
                    j++;
                    k++;
                    bx += C::DW;
                } else {
                    j = 0;
                    bx = bx0;
                    if (i != C::KH - 1) {
                        i++;
                        k++;
                        by += C::DH;
                    } else {
                        i = 0;
                        k = 0;
                        if (ow != C::OW - 1) {
                            ow++;
                            bx0 += C::SW;
                        } else {
                            ow = 0;
                            bx0 = -C::PL;
                            by0 += C::SH;
                            if (oh != C::OH - 1) {
                                oh++;
                            } else {
                                emitted = true;
                            }
                            if (C::LINE) {  // the next output row's rows
                                base += C::SH;
                                base_slot = base_slot + C::SH >= ROWS ? base_slot + C::SH - ROWS
                                                                      : base_slot + C::SH;
                                need_end += C::SH;
                            }
                        }
                        bx = bx0;
                        by = by0;
                    }
                }
            }
        }
    }
#ifdef ARCHGEN_DSWG_TRACE_FRAME
    ARCHGEN_DSWG_TRACE_FRAME(iterations);
#endif
    (void)iterations;
    (void)taken;
}

}  // namespace dswg_detail

// One frame without a mask (DCNv1): H*W input words and OH*OW offset words in,
// OH*OW*K*CHANNELS/SIMD words out.
template <class C>
void dswg(hls::stream<ap_uint<C::CHANNELS * C::BITS> > &in,
          hls::stream<ap_uint<C::OG * 2 * C::KH * C::KW * C::OFF_BITS> > &off,
          hls::stream<ap_uint<C::SIMD * C::OUT_BITS> > &out) {
#pragma HLS INLINE off
    static_assert(!C::HAS_MASK, "dswg: a sampler with a mask takes the mask stream");
    dswg_detail::no_mask none;
    dswg_detail::frame<C>(in, off, none, out);
}

// One frame with a mask (DCNv2): also OH*OW mask words in.
template <class C>
void dswg(hls::stream<ap_uint<C::CHANNELS * C::BITS> > &in,
          hls::stream<ap_uint<C::OG * 2 * C::KH * C::KW * C::OFF_BITS> > &off,
          hls::stream<ap_uint<(C::HAS_MASK ? C::MASK_W : 1)> > &mask,
          hls::stream<ap_uint<C::SIMD * C::OUT_BITS> > &out) {
#pragma HLS INLINE off
    static_assert(C::HAS_MASK, "dswg: a sampler without a mask takes no mask stream");
    dswg_detail::frame<C>(in, off, mask, out);
}

}  // namespace archgen
