// add: residual add of two streams with integer weights, PE lanes per beat; the HLS twin of
// hw/rtl/add.v, computing what gen/archgen/units/add.py golden() computes.
//
//   out = WA*a + WB*b + K        (K = -(WA*za + WB*zb), computed by the generator)
//
// The weights are constants given as canonical signed digits (WA = WA_POS - WA_NEG, masks
// with no two adjacent ones): each product is a sum of shifted copies of the input, a few
// adders and no multiplier, as in the RTL.  A beat is read from both inputs together.
// Everything is computed at ACC_BITS (modulo 2^ACC_BITS), which holds every input, product
// and sum exactly; the output element is the low OUT_BITS bits of the sum.  One pipelined
// loop at II=1 over the frame.
//
// Config C (a layer header's struct, static const ints named as add.v's parameters; flags
// are 0/1): PE, A_BITS, A_SIGNED, A_BIPOLAR, B_BITS, B_SIGNED, B_BIPOLAR, ACC_BITS,
// OUT_BITS, FRAME_BEATS; static const unsigned long long WA_POS, WA_NEG, WB_POS, WB_NEG
// (digit masks below bit ACC_BITS) and static const long long K.
#pragma once

#include "thresholds.h"  // ap_int.h, hls_stream.h and the elementwise helpers

namespace archgen {
namespace add_detail {

// x * (POS - NEG) modulo 2^W for the digit masks POS and NEG (bits below W and 64)
template <int W, unsigned long long POS, unsigned long long NEG>
ap_int<W> times(const ap_int<W> &x) {
#pragma HLS INLINE
    const int DIGITS = W < 64 ? W : 64;
    ap_int<W> t = 0;
    for (int k = 0; k < DIGITS; k++) {
#pragma HLS UNROLL
        if ((POS >> k) & 1) t += x << k;
        if ((NEG >> k) & 1) t -= x << k;
    }
    return t;
}

}  // namespace add_detail

// One frame: FRAME_BEATS beats from each input, FRAME_BEATS beats out.
template <class C>
void add(hls::stream<ap_uint<C::PE * C::A_BITS> > &in_a,
         hls::stream<ap_uint<C::PE * C::B_BITS> > &in_b,
         hls::stream<ap_uint<C::PE * C::OUT_BITS> > &out) {
#pragma HLS INLINE off
    static_assert(C::PE >= 1 && C::FRAME_BEATS >= 1, "add: PE and FRAME_BEATS must be >= 1");
    static_assert(C::A_BITS >= 1 && (!C::A_BIPOLAR || C::A_BITS == 1),
                  "add: A_BITS must be >= 1 (1 when bipolar)");
    static_assert(C::B_BITS >= 1 && (!C::B_BIPOLAR || C::B_BITS == 1),
                  "add: B_BITS must be >= 1 (1 when bipolar)");
    static_assert(C::OUT_BITS >= 1 && C::ACC_BITS >= C::OUT_BITS && C::ACC_BITS >= 2,
                  "add: ACC_BITS must be >= 2 and hold the output");
    static_assert(C::ACC_BITS >= 64 ||
                      ((C::WA_POS | C::WA_NEG | C::WB_POS | C::WB_NEG) >> C::ACC_BITS) == 0,
                  "add: weight digits above ACC_BITS");
    const ap_int<C::ACC_BITS> K = C::K;

    for (int i = 0; i < C::FRAME_BEATS; i++) {
#pragma HLS PIPELINE II=1
        const ap_uint<C::PE * C::A_BITS> a = in_a.read();
        const ap_uint<C::PE * C::B_BITS> b = in_b.read();
        ap_uint<C::PE * C::OUT_BITS> beat = 0;
        for (int p = 0; p < C::PE; p++) {
#pragma HLS UNROLL
            const ap_int<C::ACC_BITS> ae =
                elementwise::extend<C::ACC_BITS, C::A_BITS, C::A_SIGNED, C::A_BIPOLAR>(
                    a.range((p + 1) * C::A_BITS - 1, p * C::A_BITS));
            const ap_int<C::ACC_BITS> be =
                elementwise::extend<C::ACC_BITS, C::B_BITS, C::B_SIGNED, C::B_BIPOLAR>(
                    b.range((p + 1) * C::B_BITS - 1, p * C::B_BITS));
            const ap_int<C::ACC_BITS> ta = add_detail::times<C::ACC_BITS, C::WA_POS, C::WA_NEG>(ae);
            const ap_int<C::ACC_BITS> tb = add_detail::times<C::ACC_BITS, C::WB_POS, C::WB_NEG>(be);
            const ap_int<C::ACC_BITS> sum = ta + tb + K;
            beat.range((p + 1) * C::OUT_BITS - 1, p * C::OUT_BITS) = ap_uint<C::OUT_BITS>(sum);
        }
        out.write(beat);
    }
}

}  // namespace archgen
