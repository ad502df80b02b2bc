// argmax: index of the largest element of each vector of N elements (the first one on ties),
// PE elements per input beat, one index per output beat; the HLS twin of hw/rtl/argmax.v,
// computing what gen/archgen/units/argmax.py golden() computes.
//
// A frame holds VECTORS vectors (N/PE beats each) and gives VECTORS output beats of OUT_BITS
// (the index).  Elements are sign-, zero- or bipolar-extended to X_BITS signed bits.  Per
// beat a tournament tree over the PE lanes (padded to a power of two with the smallest
// value, which never wins) finds the beat's best lane, the lower lane winning ties; the
// vector's running best is replaced by a later beat's only when that is strictly larger.
// One pipelined loop at II=1 over the frame's input beats; the index leaves with the
// vector's last beat.
//
// Config C (a layer header's struct, static const ints named as argmax.v's parameters;
// flags are 0/1): PE, IN_BITS, IN_SIGNED, IN_BIPOLAR, X_BITS, N, VECTORS, OUT_BITS.
#pragma once

#include "thresholds.h"  // ap_int.h, hls_stream.h and the elementwise helpers

namespace archgen {
namespace argmax_detail {

constexpr int pow2_ceil(int v) {  // the least power of two >= v (v >= 1)
    for (int p = 1; p < (1 << 30); p <<= 1) {
        if (p >= v) return p;
    }
    return 1 << 30;
}

}  // namespace argmax_detail

// One frame: VECTORS * N/PE beats in, VECTORS beats out.
template <class C>
void argmax(hls::stream<ap_uint<C::PE * C::IN_BITS> > &in,
            hls::stream<ap_uint<C::OUT_BITS> > &out) {
#pragma HLS INLINE off
    static_assert(C::PE >= 1 && C::N >= 1 && C::N % C::PE == 0, "argmax: PE must divide N");
    static_assert(C::IN_BITS >= 1 && (!C::IN_BIPOLAR || C::IN_BITS == 1),
                  "argmax: IN_BITS >= 1 (1 when bipolar)");
    static_assert(C::VECTORS >= 1, "argmax: VECTORS must be >= 1");
    static_assert(C::OUT_BITS >= 1 && C::OUT_BITS <= 32 && ((C::N - 1) >> C::OUT_BITS) == 0,
                  "argmax: OUT_BITS must be in 1..32 and hold N-1");
    const int BEATS = C::N / C::PE;                 // beats per vector
    const int P2 = argmax_detail::pow2_ceil(C::PE);  // tournament leaves
    const int STEPS = C::VECTORS * BEATS;

    ap_int<C::X_BITS> best = 0;     // the vector's running best value ...
    ap_uint<C::OUT_BITS> index = 0;  // ... and its index
    int beat = 0;                    // beat of the vector
    ap_uint<C::OUT_BITS> base = 0;   // index of the beat's lane 0: beat * PE
    for (int i = 0; i < STEPS; i++) {
#pragma HLS PIPELINE II=1
        const ap_uint<C::PE * C::IN_BITS> x = in.read();
        // tournament node n (1 = root, P2 + l = lane l): value and lane
        ap_int<C::X_BITS> tv[2 * P2];
        ap_uint<C::OUT_BITS> tl[2 * P2];
#pragma HLS ARRAY_PARTITION variable=tv complete dim=1
#pragma HLS ARRAY_PARTITION variable=tl complete dim=1
        for (int l = 0; l < P2; l++) {
#pragma HLS UNROLL
            if (l < C::PE) {
                tv[P2 + l] =
                    elementwise::extend<C::X_BITS, C::IN_BITS, C::IN_SIGNED, C::IN_BIPOLAR>(
                        x.range((l + 1) * C::IN_BITS - 1, l * C::IN_BITS));
            } else {  // the smallest value, right of every lane: never wins
                tv[P2 + l] = 0;
                tv[P2 + l][C::X_BITS - 1] = 1;
            }
            tl[P2 + l] = l;
        }
        // node n plays its children 2n (lower lanes) and 2n+1: the right one wins only when
        // strictly larger
        for (int n = P2 - 1; n >= 1; n--) {
#pragma HLS UNROLL
            const bool right = tv[2 * n + 1] > tv[2 * n];
            tv[n] = right ? tv[2 * n + 1] : tv[2 * n];
            tl[n] = right ? tl[2 * n + 1] : tl[2 * n];
        }
        const ap_uint<C::OUT_BITS> lane_index = base + tl[1];
        if (beat == 0 || tv[1] > best) {
            best = tv[1];
            index = lane_index;
        }
        if (beat == BEATS - 1) {
            out.write(index);
            beat = 0;
            base = 0;
        } else {
            beat++;
            base += C::PE;
        }
    }
}

}  // namespace archgen
