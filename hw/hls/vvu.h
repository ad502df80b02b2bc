// vvu: vector-vector unit, the arithmetic of depthwise convolutions; the HLS twin of
// hw/rtl/vvu.v, computing what gen/archgen/units/vvu.py golden() computes.
//
// Consumes the sliding-window generator's stream: per output pixel, TAPS x CHANNELS window
// elements in the order (tap major, channel minor), PE channels per beat (channel cf*PE + p
// of a beat at bits [p*IN_BITS, (p+1)*IN_BITS)).  Each channel has its own kernel:
//     acc[c] = bias(c) + sum_k win[k, c] * W[c, k]          (modulo 2^ACC_BITS)
// bias(c) carries -zero_point * sum_k W[c, k]; ACC_BITS holds the exact result range.  A frame
// is VECTORS pixels.  The CHANNELS accumulators of a pixel leave in CF = CHANNELS/PE beats of
// PE lanes (channel cf*PE + p at bits [p*ACC_BITS, (p+1)*ACC_BITS)) during its last tap.
//
// One pipelined loop at II=1 walks (pixel, tap, channel group), one input beat each: TAPS*CF
// cycles per pixel.  The partial sums of the CF channel groups live in a shift register of
// CF beats (group cf's sums come back to its head exactly CF beats later, at the next tap),
// so the loop has no memory read-modify-write to schedule.
//
// Weights: C::weight(a) is the memory word a = k*CF + cf, PE lanes of W_BITS, lane p holding
// W[cf*PE + p, k] (vvu.py weight_words).  Operands as in mvu.h: signed, unsigned or bipolar;
// both bipolar: +1 where the bits agree (XNOR), -1 elsewhere.
//
// Config C (a layer header's struct, all static const int; flags are 0/1):
//   CHANNELS, TAPS, PE, CF, VECTORS, IN_BITS, IN_SIGNED, IN_BIPOLAR, W_BITS, W_SIGNED,
//   W_BIPOLAR, ACC_BITS, IN_W (= PE*IN_BITS), OUT_W (= PE*ACC_BITS), WW (= PE*W_BITS),
//   DEPTH (= TAPS*CF); static ap_uint<WW> weight(int addr); static ap_int<ACC_BITS>
//   bias(int channel) (its table partitioned cyclically by PE).
#pragma once

#include "mvu.h"  // ap_int.h, hls_stream.h and the element products (mvu_detail)

namespace archgen {

// One frame: VECTORS * TAPS * CF input beats in, VECTORS * CF output beats out.
template <class C>
void vvu(hls::stream<ap_uint<C::IN_W> > &in, hls::stream<ap_uint<C::OUT_W> > &out) {
#pragma HLS INLINE off
    static_assert(C::PE >= 1 && C::CF * C::PE == C::CHANNELS, "vvu: PE must divide CHANNELS");
    static_assert(C::TAPS >= 1 && C::VECTORS >= 1, "vvu: TAPS and VECTORS must be >= 1");
    static_assert(C::IN_W == C::PE * C::IN_BITS && C::OUT_W == C::PE * C::ACC_BITS &&
                      C::WW == C::PE * C::W_BITS && C::DEPTH == C::TAPS * C::CF,
                  "vvu: inconsistent widths");
    static_assert((!C::IN_BIPOLAR || C::IN_BITS == 1) && (!C::W_BIPOLAR || C::W_BITS == 1),
                  "vvu: bipolar elements have 1 bit");
    const int PW = mvu_detail::min2(
        mvu_detail::product_bits(C::IN_BITS, C::IN_SIGNED, C::IN_BIPOLAR, C::W_BITS,
                                 C::W_SIGNED, C::W_BIPOLAR),
        C::ACC_BITS);  // product bits kept (modulo 2^ACC_BITS)
    const int STEPS = C::VECTORS * C::TAPS * C::CF;
    const int CF_LAST = C::CF - 1;
    const int TAP_LAST = C::TAPS - 1;
    const int DEPTH_LAST = C::DEPTH - 1;

    // partial sums: acc[j] holds the channel group that left the adders j+1 beats ago
    ap_int<C::ACC_BITS> acc[C::CF][C::PE];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=0

    int cf = 0;    // channel group of the beat
    int ch0 = 0;   // cf * PE: the group's first channel
    int tap = 0;   // kernel tap of the beat
    int addr = 0;  // weight word tap * CF + cf
    for (int i = 0; i < STEPS; i++) {
#pragma HLS PIPELINE II=1
        const ap_uint<C::IN_W> x = in.read();
        const ap_uint<C::WW> w = C::weight(addr);
        ap_int<C::ACC_BITS> next[C::PE];
#pragma HLS ARRAY_PARTITION variable=next complete dim=1
        ap_uint<C::OUT_W> beat = 0;
        for (int p = 0; p < C::PE; p++) {
#pragma HLS UNROLL
            const ap_uint<C::IN_BITS> xp = x.range((p + 1) * C::IN_BITS - 1, p * C::IN_BITS);
            const ap_uint<C::W_BITS> wp = w.range((p + 1) * C::W_BITS - 1, p * C::W_BITS);
            const ap_int<PW> prod = mvu_detail::product<C::IN_BITS, C::IN_SIGNED, C::IN_BIPOLAR,
                                                        C::W_BITS, C::W_SIGNED, C::W_BIPOLAR>(xp, wp);
            const ap_int<C::ACC_BITS> base = tap == 0 ? C::bias(ch0 + p) : acc[C::CF - 1][p];
            next[p] = base + prod;
            beat.range((p + 1) * C::ACC_BITS - 1, p * C::ACC_BITS) = next[p];
        }
        for (int j = C::CF - 1; j > 0; j--) {
#pragma HLS UNROLL
            for (int p = 0; p < C::PE; p++) {
#pragma HLS UNROLL
                acc[j][p] = acc[j - 1][p];
            }
        }
        for (int p = 0; p < C::PE; p++) {
#pragma HLS UNROLL
            acc[0][p] = next[p];
        }
        if (tap == TAP_LAST) out.write(beat);

        addr = addr == DEPTH_LAST ? 0 : addr + 1;
        if (cf == CF_LAST) {
            cf = 0;
            ch0 = 0;
            tap = tap == TAP_LAST ? 0 : tap + 1;
        } else {
            cf++;
            ch0 += C::PE;
        }
    }
}

}  // namespace archgen
