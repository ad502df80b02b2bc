// swg: sliding-window generator on a channels-last pixel stream; the HLS twin of
// hw/rtl/swg.v, computing what gen/archgen/units/swg.py golden() computes.
//
// Input : one frame of H x W pixels (a 1-D input: H = its length, W = 1), CHANNELS elements
//         per pixel, SIMD elements per beat (CF = CHANNELS/SIMD beats per pixel), in raster
//         order, channels minor.
// Output: for each of the OH x OW windows in raster order, its KH x KW kernel positions in
//         row-major order, channels minor, SIMD elements per beat.  Window (oh, ow) tap
//         (kh, kw) reads input pixel (oh*SH - PT + kh*DH, ow*SW - PL + kw*DW); positions
//         outside the input (begin padding PT/PL, end padding, ceil-mode windows) emit PAD
//         in every lane.  The end padding is implied by OH/OW (units/swg.py computes them).
//
// Storage: a line buffer of ROWS input rows, a circular buffer in one memory of
// ROWS*W*CF beat words: input row r goes to slot r mod ROWS.  One pipelined loop (II=1)
// interleaves the writer and the reader as swg.v runs them side by side; each iteration
//   - writes one input beat when the frame has rows left and row `filled` (the one being
//     written) fits beside the live rows: filled < ROWS + released, where released is the
//     first row of the current output row's windows (clamped to [0, H]) and every row
//     above it is read by no later window; and
//   - emits one window beat when the input rows its output row reads are complete.
// Both sides are bounded by the frame (IN_BEATS writes, OUT_BEATS reads), so the loop
// ends after at most IN_BEATS + OUT_BEATS iterations (when both are done).  ROWS >=
// min((KH-1)*DH+1, H) rows never deadlock; the unit's ROWS (units/swg.py buffer_rows)
// lets the writer fill the next output row's rows while the current one is emitted.
// One call is one frame: the writer does not run ahead into the next frame as the RTL's
// does (the next frame is the next call): a frame takes 1.0-1.3x the RTL's cycles,
// max(input, output) beats, on the unit tests' grid (up to 2x when the first window reads
// most of the frame), since a frame's first rows are not written while the previous
// frame's windows leave.  The reader never waits for rows no window reads (the writer
// consumes them after the last window).  An iteration that takes an input beat waits for
// it (a blocking read), also when it emits a window beat.
//
// Config C (a layer header's struct, static const ints named as swg.v's parameters):
//   BITS, SIMD, CHANNELS, H, W, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL, ROWS, and PAD (the
//   padding element code, BITS bits; an unsigned long long).  Beats are SIMD*BITS wide.
#pragma once

#include "archgen_ap_types.h"

namespace archgen {
namespace swg_detail {

constexpr int posmod(int v, int m) { return ((v % m) + m) % m; }  // v mod m in [0, m)

// (a + b) mod DEPTH for 0 <= a < DEPTH, 0 <= b <= DEPTH: a line-buffer address step
template <int DEPTH>
int wrap_add(int a, int b) {
#pragma HLS INLINE
    const int s = a + b;
    return s >= DEPTH ? s - DEPTH : s;
}

}  // namespace swg_detail

// One frame: H*W*CF input beats in, OH*OW*KH*KW*CF window beats out.
template <class C>
void swg(hls::stream<ap_uint<C::SIMD * C::BITS> > &in,
         hls::stream<ap_uint<C::SIMD * C::BITS> > &out) {
#pragma HLS INLINE off
    static_assert(C::BITS >= 1, "swg: BITS must be >= 1");
    static_assert(C::SIMD >= 1 && C::CHANNELS % C::SIMD == 0, "swg: SIMD must divide CHANNELS");
    static_assert(C::H >= 1 && C::W >= 1 && C::OH >= 1 && C::OW >= 1, "swg: sizes must be >= 1");
    static_assert(C::KH >= 1 && C::KW >= 1 && C::SH >= 1 && C::SW >= 1 && C::DH >= 1 &&
                      C::DW >= 1, "swg: kernel, strides and dilations must be >= 1");
    static_assert(C::PT >= 0 && C::PL >= 0, "swg: begin pads must be >= 0");
    static_assert(C::ROWS >= (C::KH - 1) * C::DH + 1 || C::ROWS >= C::H,
                  "swg: ROWS must hold a window's rows, min((KH-1)*DH+1, H)");
    const int WIDTH = C::SIMD * C::BITS;
    const int CF = C::CHANNELS / C::SIMD;  // beats per pixel
    const int IN_BEATS = C::H * C::W * CF;
    const int OUT_BEATS = C::OH * C::OW * C::KH * C::KW * CF;
    const int ROWLEN = C::W * CF;        // words per buffered row
    const int DEPTH = C::ROWS * ROWLEN;  // words in the line buffer
    const int EKH = (C::KH - 1) * C::DH + 1;
    const int STEPS = IN_BEATS + OUT_BEATS;
    // address steps (whole rows of the circular buffer)
    const int A_DH = swg_detail::posmod(C::DH, C::ROWS) * ROWLEN;  // next kernel row
    const int A_SH = swg_detail::posmod(C::SH, C::ROWS) * ROWLEN;  // next output row
    const int A_PT = swg_detail::posmod(-C::PT, C::ROWS) * ROWLEN; // the first window row

    ap_uint<WIDTH> buf[DEPTH];
#pragma HLS BIND_STORAGE variable=buf type=ram_s2p

    ap_uint<WIDTH> pad_word = 0;  // PAD in every lane
    for (int s = 0; s < C::SIMD; s++) {
#pragma HLS UNROLL
        pad_word.range((s + 1) * C::BITS - 1, s * C::BITS) = ap_uint<C::BITS>(C::PAD);
    }

    // writer: complete rows, the address and the word within the row being written
    int filled = 0;
    int waddr = 0;
    int wcol = 0;
    // reader: loops oh, ow, kh, kw, cf; coordinates may be negative (padding)
    int cf = 0, kw = 0, kh = 0, ow = 0, oh = 0;
    int r_start = -C::PT;    // first input row of the current output row's windows
    int released = 0;        // r_start clamped to [0, H]: rows above it are free
    int row = -C::PT;        // input row of the current tap
    int col0 = -C::PL * CF;  // first tap column of the window, in words
    int col = -C::PL * CF;   // current tap column, in words
    int win_addr = A_PT;     // line-buffer address of row r_start
    int row_addr = A_PT;     // ... of row `row`
    bool emitted = false;    // every window beat of the frame is out

    for (int i = 0; i < STEPS; i++) {
#pragma HLS PIPELINE II=1
        const bool take = filled < C::H && filled < C::ROWS + released;
        const bool emit = !emitted && (filled >= C::H || filled >= r_start + EKH);
        if (!take && !emit) break;  // both sides are done

        // reader first: the tap's row is complete and never the one being written
        if (emit) {
            const bool pad = row < 0 || row >= C::H || col < 0 || col >= ROWLEN;
            ap_uint<WIDTH> v = pad_word;
            if (!pad) v = buf[row_addr + col + cf];
            out.write(v);
        }
        if (take) {
            buf[waddr] = in.read();
            waddr = waddr == DEPTH - 1 ? 0 : waddr + 1;
            if (wcol == ROWLEN - 1) {
                wcol = 0;
                filled++;
            } else {
                wcol++;
            }
        }

        if (emit) {
            if (cf != CF - 1) {
                cf++;
            } else {
                cf = 0;
                if (kw != C::KW - 1) {
                    kw++;
                    col += C::DW * CF;
                } else {
                    kw = 0;
                    if (kh != C::KH - 1) {
                        kh++;
                        row += C::DH;
                        row_addr = swg_detail::wrap_add<DEPTH>(row_addr, A_DH);
                        col = col0;
                    } else {
                        kh = 0;
                        if (ow != C::OW - 1) {
                            ow++;
                            col0 += C::SW * CF;
                            col = col0;
                            row = r_start;
                            row_addr = win_addr;
                        } else {
                            ow = 0;
                            col0 = -C::PL * CF;
                            col = -C::PL * CF;
                            if (oh != C::OH - 1) {
                                oh++;
                                r_start += C::SH;
                                released = r_start < 0 ? 0 : r_start > C::H ? C::H : r_start;
                                row = r_start;
                                win_addr = swg_detail::wrap_add<DEPTH>(win_addr, A_SH);
                                row_addr = win_addr;
                            } else {
                                emitted = true;
                                released = C::H;  // the rest of the frame is read by no window
                            }
                        }
                    }
                }
            }
        }
    }
}

}  // namespace archgen
