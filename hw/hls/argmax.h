// argmax: indices of the K largest elements of each vector of N elements, largest first,
// the lower index first among equal elements (K = 1: the argmax, the first index on ties;
// K > 1: the Indices of ONNX TopK), PE elements per input beat, one index per output beat,
// K output beats per vector; the HLS twin of hw/rtl/argmax.v, computing what
// gen/archgen/units/argmax.py golden() computes.
//
// A frame holds VECTORS vectors (N/PE beats each) and gives VECTORS*K output beats of
// OUT_BITS (an index).  Elements are sign-, zero- or bipolar-extended to X_BITS signed bits.
// Per beat the best M = min(K, PE) lanes, sorted: a tournament tree when M = 1 (padded to
// a power of two with the smallest value, which never wins; the lower lane wins ties),
// else each lane's rank among the beat's lanes (a lane goes before a higher one unless
// strictly smaller).  They merge into the vector's sorted list of its K best so far: a
// beat's element goes before a listed one only when strictly larger (listed elements have
// lower indices), so a later element never replaces an equal one.
//
// One pipelined loop at II=1: a vector takes T = max(N/PE, K) iterations, reading a beat
// in each of the first N/PE; its best index leaves in its last iteration, the other K-1 in
// the next vector's first K-1 iterations (K-1 more iterations after the frame's last
// vector), as the RTL's output buffer drains while the next vector streams in.
//
// Config C (a layer header's struct, static const ints named as argmax.v's parameters;
// flags are 0/1): PE, IN_BITS, IN_SIGNED, IN_BIPOLAR, X_BITS, N, K, VECTORS, OUT_BITS.
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

// The beat's best M lanes, sorted: values cv[0..M) and lanes cl[0..M).
template <class C, int M>
void best_lanes(const ap_int<C::X_BITS> xv[C::PE], ap_int<C::X_BITS> cv[M],
                ap_uint<C::OUT_BITS> cl[M]) {
#pragma HLS INLINE
    if (M == 1) {
        const int P2 = pow2_ceil(C::PE);  // tournament leaves
        // tournament node n (1 = root, P2 + l = lane l): value and lane
        ap_int<C::X_BITS> tv[2 * P2];
        ap_uint<C::OUT_BITS> tl[2 * P2];
#pragma HLS ARRAY_PARTITION variable=tv complete dim=1
#pragma HLS ARRAY_PARTITION variable=tl complete dim=1
        for (int l = 0; l < P2; l++) {
#pragma HLS UNROLL
            if (l < C::PE) {
                tv[P2 + l] = xv[l];
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
        cv[0] = tv[1];
        cl[0] = tl[1];
    } else {
        for (int l = 0; l < C::PE; l++) {
#pragma HLS UNROLL
            int rank = 0;  // lanes going before lane l
            for (int q = 0; q < C::PE; q++) {
#pragma HLS UNROLL
                if (q < l ? xv[q] >= xv[l] : (q > l && xv[q] > xv[l])) rank++;
            }
            if (rank < M) {
                cv[rank] = xv[l];
                cl[rank] = l;
            }
        }
    }
}

}  // namespace argmax_detail

// One frame: VECTORS * N/PE beats in, VECTORS * K beats out.
template <class C>
void argmax(hls::stream<ap_uint<C::PE * C::IN_BITS> > &in,
            hls::stream<ap_uint<C::OUT_BITS> > &out) {
#pragma HLS INLINE off
    static_assert(C::PE >= 1 && C::N >= 1 && C::N % C::PE == 0, "argmax: PE must divide N");
    static_assert(C::IN_BITS >= 1 && (!C::IN_BIPOLAR || C::IN_BITS == 1),
                  "argmax: IN_BITS >= 1 (1 when bipolar)");
    static_assert(C::K >= 1 && C::K <= C::N, "argmax: K must be in 1..N");
    static_assert(C::VECTORS >= 1, "argmax: VECTORS must be >= 1");
    static_assert(C::OUT_BITS >= 1 && C::OUT_BITS <= 32 && ((C::N - 1) >> C::OUT_BITS) == 0,
                  "argmax: OUT_BITS must be in 1..32 and hold N-1");
    const int BEATS = C::N / C::PE;                   // beats per vector
    const int K = C::K;
    const int M = K < C::PE ? K : C::PE;              // a beat's lanes that can enter the list
    const int T = BEATS > K ? BEATS : K;              // iterations per vector
    const int STEPS = C::VECTORS * T + K - 1;

    // the vector's K best so far, sorted (valid slots first)
    ap_int<C::X_BITS> lv[K];
    ap_uint<C::OUT_BITS> li[K];
    bool lval[K];
    ap_uint<C::OUT_BITS> pend[K > 1 ? K - 1 : 1];  // the last vector's indices 1..K-1
#pragma HLS ARRAY_PARTITION variable=lv complete dim=1
#pragma HLS ARRAY_PARTITION variable=li complete dim=1
#pragma HLS ARRAY_PARTITION variable=lval complete dim=1
#pragma HLS ARRAY_PARTITION variable=pend complete dim=1
    for (int s = 0; s < K; s++) {
#pragma HLS UNROLL
        lv[s] = 0;
        li[s] = 0;
        lval[s] = false;
    }
    for (int s = 0; s < (K > 1 ? K - 1 : 1); s++) {
#pragma HLS UNROLL
        pend[s] = 0;
    }
    int t = 0;                      // iteration of the vector
    int v = 0;                      // vector
    ap_uint<C::OUT_BITS> base = 0;  // index of the beat's lane 0: t * PE
    for (int i = 0; i < STEPS; i++) {
#pragma HLS PIPELINE II=1
        if (v < C::VECTORS && t < BEATS) {
            const ap_uint<C::PE * C::IN_BITS> x = in.read();
            ap_int<C::X_BITS> xv[C::PE];
#pragma HLS ARRAY_PARTITION variable=xv complete dim=1
            for (int l = 0; l < C::PE; l++) {
#pragma HLS UNROLL
                xv[l] = elementwise::extend<C::X_BITS, C::IN_BITS, C::IN_SIGNED, C::IN_BIPOLAR>(
                    x.range((l + 1) * C::IN_BITS - 1, l * C::IN_BITS));
            }
            ap_int<C::X_BITS> cv[M];
            ap_uint<C::OUT_BITS> cl[M];
#pragma HLS ARRAY_PARTITION variable=cv complete dim=1
#pragma HLS ARRAY_PARTITION variable=cl complete dim=1
            argmax_detail::best_lanes<C, M>(xv, cv, cl);
            // merge: slot s lands at s + (candidates strictly above it), candidate j at
            // j + (valid slots not below it); the list is empty on the vector's first beat
            ap_int<C::X_BITS> nv[K];
            ap_uint<C::OUT_BITS> ni[K];
            bool nval[K];
#pragma HLS ARRAY_PARTITION variable=nv complete dim=1
#pragma HLS ARRAY_PARTITION variable=ni complete dim=1
#pragma HLS ARRAY_PARTITION variable=nval complete dim=1
            for (int s = 0; s < K; s++) {
#pragma HLS UNROLL
                nv[s] = lv[s];
                ni[s] = li[s];
                nval[s] = false;
            }
            for (int s = 0; s < K; s++) {
#pragma HLS UNROLL
                int rank = s;
                for (int j = 0; j < M; j++) {
#pragma HLS UNROLL
                    if (cv[j] > lv[s]) rank++;
                }
                if (t != 0 && lval[s] && rank < K) {
                    nv[rank] = lv[s];
                    ni[rank] = li[s];
                    nval[rank] = true;
                }
            }
            for (int j = 0; j < M; j++) {
#pragma HLS UNROLL
                int rank = j;
                for (int s = 0; s < K; s++) {
#pragma HLS UNROLL
                    if (t != 0 && lval[s] && !(cv[j] > lv[s])) rank++;
                }
                if (rank < K) {
                    nv[rank] = cv[j];
                    ni[rank] = base + cl[j];
                    nval[rank] = true;
                }
            }
            for (int s = 0; s < K; s++) {
#pragma HLS UNROLL
                lv[s] = nv[s];
                li[s] = ni[s];
                lval[s] = nval[s];
            }
        }
        if (t == T - 1) {  // the vector's list is complete: its best index now, then the rest
            out.write(li[0]);
            for (int s = 1; s < K; s++) {
#pragma HLS UNROLL
                pend[s - 1] = li[s];
            }
        } else if (v > 0 && t < K - 1) {
            out.write(pend[t]);
        }
        if (t == T - 1) {
            t = 0;
            v++;
            base = 0;
        } else {
            t++;
            base += C::PE;
        }
    }
}

}  // namespace archgen
