// requant: multiply-shift requantizer on PE lanes per beat; the HLS twin of hw/rtl/requant.v,
// computing what gen/archgen/units/requant.py golden() computes.
//
//   out = clamp((M[c]*x + B[c]) >> SHIFT, LO, HI)
//
// with convergent rounding (ties to even) when ROUNDING == 1: the generator adds
// 2**(SHIFT-1) to every bias, so the shift rounds half up, and a tie (dropped bits all zero
// after that offset) clears the result's last bit.  ROUNDING == 0 is a floor.
// Lane p of beat j carries channel c = (j*PE + p) mod CHANNELS; the kernel tracks the group
// g = j mod GROUPS (GROUPS = CHANNELS/PE) and reads lane p's constants from row g*PE + p
// (row 0 for every lane when SHARED).
//
// Widths as the unit derives them: x is sign-, zero- or bipolar-extended to X_BITS signed
// bits, the product is exact in X_BITS + M_BITS, the sum with the bias in ACC_BITS (which
// holds every bias and every sum), the shifted result in ACC_BITS - SHIFT; the output code is
// the low OUT_BITS bits of the clamped result.  CLAMP_LO/CLAMP_HI say which bounds the data
// can cross (the others are never reached).  One pipelined loop at II=1 over the frame.
//
// Config C (a layer header's struct, static const ints named as requant.v's parameters;
// flags are 0/1): PE, IN_BITS, IN_SIGNED, IN_BIPOLAR, X_BITS, M_BITS, ACC_BITS, SHIFT,
// ROUNDING, OUT_BITS, CLAMP_LO, CLAMP_HI, GROUPS, SHARED, FRAME_BEATS; static
// ap_int<M_BITS> mult(int row), static ap_int<ACC_BITS> bias(int row) (rounding offset
// included; both tables partitioned cyclically by the rows of a group), static
// ap_int<ACC_BITS - SHIFT> lo(), hi() (the clamp bounds).
#pragma once

#include "thresholds.h"  // ap_int.h, hls_stream.h and the elementwise helpers

namespace archgen {

// One frame: FRAME_BEATS beats in, FRAME_BEATS beats out.
template <class C>
void requant(hls::stream<ap_uint<C::PE * C::IN_BITS> > &in,
             hls::stream<ap_uint<C::PE * C::OUT_BITS> > &out) {
#pragma HLS INLINE off
    const int P_BITS = C::X_BITS + C::M_BITS;
    const int Q_BITS = C::ACC_BITS - C::SHIFT;
    static_assert(C::PE >= 1 && C::IN_BITS >= 1, "requant: PE and IN_BITS must be >= 1");
    static_assert(!C::IN_BIPOLAR || C::IN_BITS == 1, "requant: a bipolar input has 1 bit");
    static_assert(C::M_BITS >= 2, "requant: M_BITS must be >= 2");
    static_assert(C::SHIFT >= 0 && C::ACC_BITS >= P_BITS && C::ACC_BITS >= C::SHIFT + 2,
                  "requant: ACC_BITS must be >= X_BITS + M_BITS and >= SHIFT + 2");
    static_assert(C::ROUNDING == 0 || (C::ROUNDING == 1 && C::SHIFT >= 1),
                  "requant: ROUNDING must be 0, or 1 with SHIFT >= 1");
    static_assert(C::OUT_BITS >= 1 && C::OUT_BITS <= Q_BITS,
                  "requant: OUT_BITS must be in 1..ACC_BITS-SHIFT");
    static_assert(C::GROUPS >= 1 && (!C::SHARED || C::GROUPS == 1),
                  "requant: GROUPS must be >= 1 (1 when SHARED)");
    static_assert(C::FRAME_BEATS >= 1 && C::FRAME_BEATS % C::GROUPS == 0,
                  "requant: FRAME_BEATS must be a multiple of GROUPS");
    const int ROWS = C::SHARED ? 1 : C::PE;  // constant rows per group
    const int DROPPED = C::SHIFT > 0 ? C::SHIFT : 1;  // bits a tie is read from (ROUNDING)
    const ap_int<Q_BITS> LO = C::lo();
    const ap_int<Q_BITS> HI = C::hi();

    int row0 = 0;  // the group's first row: (beat mod GROUPS) * ROWS
    for (int i = 0; i < C::FRAME_BEATS; i++) {
#pragma HLS PIPELINE II=1
        const ap_uint<C::PE * C::IN_BITS> x = in.read();
        ap_uint<C::PE * C::OUT_BITS> beat = 0;
        for (int p = 0; p < C::PE; p++) {
#pragma HLS UNROLL
            const int row = row0 + (C::SHARED ? 0 : p);
            const ap_int<C::X_BITS> xe =
                elementwise::extend<C::X_BITS, C::IN_BITS, C::IN_SIGNED, C::IN_BIPOLAR>(
                    x.range((p + 1) * C::IN_BITS - 1, p * C::IN_BITS));
            const ap_int<P_BITS> prod = xe * C::mult(row);
            const ap_int<C::ACC_BITS> sum = prod + C::bias(row);
            ap_int<Q_BITS> q = sum >> C::SHIFT;  // rounds half up (the bias offset) or floors
            if (C::ROUNDING && sum.range(DROPPED - 1, 0) == 0) q[0] = 0;  // a tie: to even
            ap_int<Q_BITS> y = q;
            if (C::CLAMP_LO && q < LO) y = LO;
            if (C::CLAMP_HI && q > HI) y = HI;
            beat.range((p + 1) * C::OUT_BITS - 1, p * C::OUT_BITS) = ap_uint<C::OUT_BITS>(y);
        }
        out.write(beat);
        row0 = row0 == (C::GROUPS - 1) * ROWS ? 0 : row0 + ROWS;
    }
}

}  // namespace archgen
