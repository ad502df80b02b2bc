// thresholds: multi-threshold activation on PE lanes per beat; the HLS twin of
// hw/rtl/thresholds.v, computing what gen/archgen/units/thresholds.py golden() computes.
//
//   out = code(#{k : x' >= T[c, k]}),  x' = negate(c) ? -x : x
//
// Lane p of beat j carries channel c = (j*PE + p) mod CHANNELS; the kernel tracks the group
// g = j mod GROUPS (GROUPS = CHANNELS/PE) and reads lane p's row g*PE + p of the table (row
// 0 for every lane when SHARED).  x is sign-, zero- or bipolar-extended (bit b: 2b-1) to
// CMP_BITS signed bits, which hold every x' and threshold (the unit clips the thresholds to
// the reachable range).  Rows are ascending, so the compares form a thermometer code; its
// edge selects the output code (code(m) is the code for count m, computed by the
// generator: base + m, or the bipolar bit), as the RTL does it.
// One pipelined loop at II=1 over the frame's FRAME_BEATS beats (a multiple of GROUPS).
//
// Config C (a layer header's struct, static const ints named as thresholds.v's parameters;
// flags are 0/1): PE, IN_BITS, IN_SIGNED, IN_BIPOLAR, CMP_BITS, STEPS, OUT_BITS, GROUPS,
// SHARED, FRAME_BEATS; static ap_int<CMP_BITS> threshold(int row, int k) (its table of
// elementwise::table<CMP_BITS> values partitioned so that the PE rows of a group and their
// STEPS thresholds are read in one cycle), static ap_uint<1> negate(int row), static
// ap_uint<OUT_BITS> code(int m) for m = 0..STEPS.
#pragma once

#include "archgen_ap_types.h"

#include <type_traits>

namespace archgen {
// Helpers of the elementwise kernels (thresholds, requant, add, argmax; as units/thresholds.py
// holds their shared stream helpers).
namespace elementwise {

// The element type of a constant table of W-bit signed values, read as ap_int<W>(table[i]):
// ap_int<W> in synthesis (ROM words of exactly W bits); in C simulation a built-in integer
// holding the same values, because g++ initializes a table of ap_int objects by running
// code (~20 s of compiling for 32 x 255 thresholds, against ~3 s for built-in integers).
template <int W>
struct table {
#ifdef __SYNTHESIS__
    typedef ap_int<W> type;
#else
    static_assert(W <= 64, "table: C simulation holds table values in 64 bits");
    typedef typename std::conditional<(W <= 32), int, long long>::type type;
#endif
};

// An element code (BITS bits: two's complement, unsigned, or a bipolar bit b meaning 2b-1)
// extended to a W-bit signed number (W >= BITS, +1 when unsigned; W >= 2 when bipolar).
template <int W, int BITS, int SIGNED, int BIPOLAR>
ap_int<W> extend(ap_uint<BITS> code) {
#pragma HLS INLINE
    static_assert(BIPOLAR ? (BITS == 1 && W >= 2) : W >= BITS + (SIGNED ? 0 : 1),
                  "extend: the signed width cannot hold the element");
    ap_int<W> v;
    if (BIPOLAR) {
        v = code[0] ? 1 : -1;
    } else if (SIGNED) {
        v = ap_int<BITS>(code);
    } else {
        v = code;
    }
    return v;
}

}  // namespace elementwise

// One frame: FRAME_BEATS beats in, FRAME_BEATS beats out.
template <class C>
void thresholds(hls::stream<ap_uint<C::PE * C::IN_BITS> > &in,
                hls::stream<ap_uint<C::PE * C::OUT_BITS> > &out) {
#pragma HLS INLINE off
    static_assert(C::PE >= 1 && C::IN_BITS >= 1 && C::OUT_BITS >= 1 && C::STEPS >= 1,
                  "thresholds: PE, IN_BITS, OUT_BITS and STEPS must be >= 1");
    static_assert(!C::IN_BIPOLAR || C::IN_BITS == 1, "thresholds: a bipolar input has 1 bit");
    static_assert(C::CMP_BITS >= 2, "thresholds: CMP_BITS must be >= 2");
    static_assert(C::GROUPS >= 1 && (!C::SHARED || C::GROUPS == 1),
                  "thresholds: GROUPS must be >= 1 (1 when SHARED)");
    static_assert(C::FRAME_BEATS >= 1 && C::FRAME_BEATS % C::GROUPS == 0,
                  "thresholds: FRAME_BEATS must be a multiple of GROUPS");
    const int ROWS = C::SHARED ? 1 : C::PE;  // table rows per group

    int row0 = 0;  // the group's first table row: (beat mod GROUPS) * ROWS
    for (int i = 0; i < C::FRAME_BEATS; i++) {
#pragma HLS PIPELINE II=1
        const ap_uint<C::PE * C::IN_BITS> x = in.read();
        ap_uint<C::PE * C::OUT_BITS> beat = 0;
        for (int p = 0; p < C::PE; p++) {
#pragma HLS UNROLL
            const int row = row0 + (C::SHARED ? 0 : p);
            const ap_int<C::CMP_BITS> xe =
                elementwise::extend<C::CMP_BITS, C::IN_BITS, C::IN_SIGNED, C::IN_BIPOLAR>(
                    x.range((p + 1) * C::IN_BITS - 1, p * C::IN_BITS));
            const ap_int<C::CMP_BITS> xn = C::negate(row) ? ap_int<C::CMP_BITS>(-xe) : xe;
            ap_uint<C::STEPS + 2> th = 1;  // x' >= T[k] at bit k+1, a 1 below and a 0 above
            for (int k = 0; k < C::STEPS; k++) {
#pragma HLS UNROLL
                th[k + 1] = xn >= C::threshold(row, k);
            }
            ap_uint<C::OUT_BITS> code = 0;  // count m <=> th[m] && !th[m+1]
            for (int m = 0; m <= C::STEPS; m++) {
#pragma HLS UNROLL
                if (th[m] && !th[m + 1]) code |= C::code(m);
            }
            beat.range((p + 1) * C::OUT_BITS - 1, p * C::OUT_BITS) = code;
        }
        out.write(beat);
        row0 = row0 == (C::GROUPS - 1) * ROWS ? 0 : row0 + ROWS;
    }
}

}  // namespace archgen
