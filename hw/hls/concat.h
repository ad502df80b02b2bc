// concat: channel concatenation of N streams carrying the same pixels; the HLS twin of
// hw/rtl/concat.v, computing what gen/archgen/units/concat.py golden() computes.
//
// Input k carries P_k::CHANNELS channels per pixel of P_k::BITS-bit elements, LANES elements
// per beat; per pixel the output takes CHANNELS/LANES beats from input 0, then from input 1,
// ... .  Output elements are OUT_BITS wide: an input element is sign-extended (P_k::SIGNED)
// or zero-extended, or cut to its low OUT_BITS bits when it is wider (its values fit the
// output type); a bipolar input (P_k::BIPOLAR: bit 0 = -1, 1 = +1) becomes the two's
// complement -1/+1.  One pipelined loop at II=1 over the frame's output beats.
//
// Config C (static const int): LANES, OUT_BITS, OUT_W (= LANES*OUT_BITS), PIXELS, BEATS (output
// beats per frame), INPUTS.  Per input k a struct P_k (static const int): INDEX (= k),
// CHANNELS, BITS, SIGNED, BIPOLAR (0/1), W (= LANES*BITS).  Called as
//     archgen::concat<C, P_0, ..., P_{N-1}>(out, in_0, ..., in_{N-1});
// (the output first: the inputs are a parameter pack).
#pragma once

#include "archgen_ap_types.h"

namespace archgen {
namespace concat_detail {

template <int N>
constexpr bool all_of(const bool (&v)[N]) {
    for (int i = 0; i < N; i++) {
        if (!v[i]) return false;
    }
    return true;
}

// Input P's beat widened to the output: each lane's element extended, cut or made -1/+1.
template <class C, class P>
ap_uint<C::OUT_W> widen(const ap_uint<P::W> &v) {
#pragma HLS INLINE
    ap_uint<C::OUT_W> word = 0;
    for (int l = 0; l < C::LANES; l++) {
#pragma HLS UNROLL
        const ap_uint<P::BITS> code = v.range((l + 1) * P::BITS - 1, l * P::BITS);
        ap_uint<C::OUT_BITS> e;
        if (P::BIPOLAR) {
            e = ap_int<C::OUT_BITS>(code[0] ? 1 : -1);
        } else if (P::SIGNED) {
            e = ap_int<C::OUT_BITS>(ap_int<P::BITS>(code));  // sign extension or cut
        } else {
            e = code;  // zero extension or cut
        }
        word.range((l + 1) * C::OUT_BITS - 1, l * C::OUT_BITS) = e;
    }
    return word;
}

// The beat of input P when it is the selected one: read, widened into word; true when it is
// the last beat of P's group of the pixel.
template <class C, class P>
bool take(hls::stream<ap_uint<P::W> > &in, int sel, int beat, ap_uint<C::OUT_W> &word) {
#pragma HLS INLINE
    if (sel != P::INDEX) return false;
    word = widen<C, P>(in.read());
    return beat == P::CHANNELS / C::LANES - 1;
}

}  // namespace concat_detail

// One frame: PIXELS * sum(CHANNELS)/LANES output beats, the inputs' beats in turn per pixel.
template <class C, class... P>
void concat(hls::stream<ap_uint<C::OUT_W> > &out, hls::stream<ap_uint<P::W> > &...in) {
#pragma HLS INLINE off
    const int N = sizeof...(P);
    static_assert(N >= 2 && N == C::INPUTS, "concat: one input config per input, >= 2");
    static_assert(C::LANES >= 1 && C::OUT_W == C::LANES * C::OUT_BITS, "concat: inconsistent widths");
    static_assert(concat_detail::all_of({(P::CHANNELS >= 1 && P::CHANNELS % C::LANES == 0)...}),
                  "concat: LANES must divide every input's CHANNELS");
    static_assert(concat_detail::all_of({(P::W == C::LANES * P::BITS &&
                                          (!P::BIPOLAR || (P::BITS == 1 && C::OUT_BITS >= 2)))...}),
                  "concat: an input's W must be LANES*BITS; a bipolar input has 1 bit");
    int sel = 0;   // the input whose beats are being taken
    int beat = 0;  // beat within the selected input's group
    for (int i = 0; i < C::BEATS; i++) {
#pragma HLS PIPELINE II=1
        ap_uint<C::OUT_W> word = 0;
        // one call per input, in order (a braced list is evaluated left to right)
        const bool ends[N] = {concat_detail::take<C, P>(in, sel, beat, word)...};
        bool end = false;
        for (int k = 0; k < N; k++) {
#pragma HLS UNROLL
            end = end || ends[k];
        }
        out.write(word);
        if (end) {
            beat = 0;
            sel = sel == N - 1 ? 0 : sel + 1;
        } else {
            beat++;
        }
    }
}

}  // namespace archgen
