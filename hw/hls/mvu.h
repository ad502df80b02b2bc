// mvu: matrix-vector unit, the arithmetic of dense layers and (after the sliding-window
// generator) of convolutions; the HLS twin of hw/rtl/mvu.v, computing what
// gen/archgen/units/mvu.py golden() computes.
//
// For every input vector x of COLS elements and every row n of the ROWS x COLS matrix W:
//     acc[n] = bias(n) + sum_k x[k] * W[n, k]            (modulo 2^ACC_BITS)
// bias(n) carries -zero_point * sum_k W[n, k]; ACC_BITS holds the exact result range, so the
// modulo arithmetic of the ap_int types is exact on every output.  A frame is VECTORS vectors.
//
// Folding: each vector arrives in SF = COLS/SIMD beats of SIMD elements (element s of a beat
// at bits [s*IN_BITS, (s+1)*IN_BITS)) and leaves in NF = ROWS/PE beats of PE accumulators
// (row nf*PE + p at bits [p*ACC_BITS, (p+1)*ACC_BITS)).  One pipelined loop walks
// (vector, nf, sf) at II=1: the first row group reads the input beats and keeps them in a
// partitioned buffer, the other NF-1 row groups replay them, so a vector takes NF*SF cycles.
//
// Weights: C::weight(a) is the memory word a = nf*SF + sf, PE*SIMD lanes of W_BITS, lane
// (p, s) at bits (p*SIMD + s)*W_BITS holding W[nf*PE + p, sf*SIMD + s] (mvu.py weight_words).
//
// Operands: signed (two's complement) or unsigned of any width, or bipolar (1 bit: b means
// the value 2b-1).  Both bipolar: XNOR-popcount, each SIMD group adds 2*popcount(xnor) and
// the vector starts from bias - COLS.  One bipolar: the product is +/- the other operand.
//
// Config C (a layer header's struct, all static const int; flags are 0/1):
//   ROWS, COLS, PE, SIMD, NF, SF, VECTORS, IN_BITS, IN_SIGNED, IN_BIPOLAR, W_BITS, W_SIGNED,
//   W_BIPOLAR, ACC_BITS, IN_W (= SIMD*IN_BITS), OUT_W (= PE*ACC_BITS), WW (= PE*SIMD*W_BITS),
//   DEPTH (= NF*SF); static ap_uint<WW> weight(int addr); static ap_int<ACC_BITS> bias(int row)
//   (its table partitioned cyclically by PE: bias(row0 + p) for the PE lanes in one cycle).
#pragma once

#include "archgen_ap_types.h"

namespace archgen {
namespace mvu_detail {

constexpr int clog2(int v) {  // ceil(log2(v)), 0 for v <= 1
    for (int r = 0; r < 31; r++) {
        if ((1 << r) >= v) return r;
    }
    return 31;
}

constexpr int min2(int a, int b) { return a < b ? a : b; }

// Exact bits of one product as a signed number: +-1 (both bipolar), +-weight, +-input, or a
// full product (unsigned x unsigned needs a sign bit on top of IN_BITS + W_BITS).
constexpr int product_bits(int in_bits, int in_signed, int in_bipolar, int w_bits,
                           int w_signed, int w_bipolar) {
    return in_bipolar && w_bipolar ? 2
           : in_bipolar            ? w_bits + 1
           : w_bipolar             ? in_bits + 1
                                   : in_bits + w_bits + (!in_signed && !w_signed ? 1 : 0);
}

// An element code as a signed number one bit wider: two's complement, unsigned, or bipolar.
template <int BITS, int SIGNED, int BIPOLAR>
ap_int<BITS + 1> value(ap_uint<BITS> code) {
#pragma HLS INLINE
    ap_int<BITS + 1> v;
    if (BIPOLAR) {
        v = code[0] ? 1 : -1;
    } else if (SIGNED) {
        v = ap_int<BITS>(code);
    } else {
        v = code;
    }
    return v;
}

// x * w, exact, of element codes x (IN_BITS) and w (W_BITS) as the config's types say.
template <int IN_BITS, int IN_SIGNED, int IN_BIPOLAR, int W_BITS, int W_SIGNED, int W_BIPOLAR>
ap_int<product_bits(IN_BITS, IN_SIGNED, IN_BIPOLAR, W_BITS, W_SIGNED, W_BIPOLAR)>
product(ap_uint<IN_BITS> x, ap_uint<W_BITS> w) {
#pragma HLS INLINE
    const int PW = product_bits(IN_BITS, IN_SIGNED, IN_BIPOLAR, W_BITS, W_SIGNED, W_BIPOLAR);
    ap_int<PW> prod;
    if (IN_BIPOLAR && W_BIPOLAR) {
        prod = x[0] == w[0] ? 1 : -1;
    } else if (IN_BIPOLAR) {
        const ap_int<PW> wv = value<W_BITS, W_SIGNED, 0>(w);
        prod = x[0] ? wv : ap_int<PW>(-wv);
    } else if (W_BIPOLAR) {
        const ap_int<PW> xv = value<IN_BITS, IN_SIGNED, 0>(x);
        prod = w[0] ? xv : ap_int<PW>(-xv);
    } else {
        prod = value<IN_BITS, IN_SIGNED, 0>(x) * value<W_BITS, W_SIGNED, 0>(w);
    }
    return prod;
}

template <int W>
ap_uint<clog2(W + 1)> popcount(ap_uint<W> v) {
#pragma HLS INLINE
    ap_uint<clog2(W + 1)> n = 0;
    for (int i = 0; i < W; i++) {
#pragma HLS UNROLL
        n += v[i];
    }
    return n;
}

// Widths of the datapath of config C.
template <class C>
struct traits {
    static const bool XNOR = C::IN_BIPOLAR && C::W_BIPOLAR;
    // product bits kept (modulo 2^ACC_BITS) and the bits of a sum of SIMD of them
    static const int PW = min2(product_bits(C::IN_BITS, C::IN_SIGNED, C::IN_BIPOLAR, C::W_BITS,
                                            C::W_SIGNED, C::W_BIPOLAR), C::ACC_BITS);
    // XNOR: 2*popcount in [0, 2*SIMD] as a signed number
    static const int SW = XNOR ? clog2(2 * C::SIMD + 1) + 1 : min2(PW + clog2(C::SIMD), C::ACC_BITS);
};

// PE lane p's contribution of one (row group, SIMD chunk) step: the sum of its SIMD products,
// or 2*popcount(xnor) in XNOR mode.
template <class C>
ap_int<traits<C>::SW> dot(const ap_uint<C::IN_W> &x, const ap_uint<C::WW> &w, int p) {
#pragma HLS INLINE
    typedef traits<C> T;
    ap_int<T::SW> sum = 0;
    if (T::XNOR) {
        const ap_uint<C::SIMD> wb = w.range((p + 1) * C::SIMD - 1, p * C::SIMD);
        const ap_uint<C::SIMD> xb = x.range(C::SIMD - 1, 0);
        sum = ap_int<T::SW>(popcount<C::SIMD>(~(xb ^ wb))) << 1;
    } else {
        for (int s = 0; s < C::SIMD; s++) {
#pragma HLS UNROLL
            const ap_uint<C::IN_BITS> xs = x.range((s + 1) * C::IN_BITS - 1, s * C::IN_BITS);
            const int lane = p * C::SIMD + s;
            const ap_uint<C::W_BITS> ws = w.range((lane + 1) * C::W_BITS - 1, lane * C::W_BITS);
            const ap_int<T::PW> prod = product<C::IN_BITS, C::IN_SIGNED, C::IN_BIPOLAR, C::W_BITS,
                                               C::W_SIGNED, C::W_BIPOLAR>(xs, ws);
            sum += prod;
        }
    }
    return sum;
}

}  // namespace mvu_detail

// One frame: VECTORS input vectors of SF beats in, VECTORS * NF output beats out.
template <class C>
void mvu(hls::stream<ap_uint<C::IN_W> > &in, hls::stream<ap_uint<C::OUT_W> > &out) {
#pragma HLS INLINE off
    typedef mvu_detail::traits<C> T;
    static_assert(C::PE >= 1 && C::NF * C::PE == C::ROWS, "mvu: PE must divide ROWS");
    static_assert(C::SIMD >= 1 && C::SF * C::SIMD == C::COLS, "mvu: SIMD must divide COLS");
    static_assert(C::VECTORS >= 1, "mvu: VECTORS must be >= 1");
    static_assert(C::IN_W == C::SIMD * C::IN_BITS && C::OUT_W == C::PE * C::ACC_BITS &&
                      C::WW == C::PE * C::SIMD * C::W_BITS && C::DEPTH == C::NF * C::SF,
                  "mvu: inconsistent widths");
    static_assert((!C::IN_BIPOLAR || C::IN_BITS == 1) && (!C::W_BIPOLAR || C::W_BITS == 1),
                  "mvu: bipolar elements have 1 bit");
    static_assert(!T::XNOR || C::ACC_BITS >= 2, "mvu: XNOR mode needs ACC_BITS >= 2");
    const int STEPS = C::VECTORS * C::NF * C::SF;
    const int SF_LAST = C::SF - 1;
    const int NF_LAST = C::NF - 1;
    const int DEPTH_LAST = C::DEPTH - 1;
    // XNOR mode: each SIMD group adds 2*popcount - SIMD; the -COLS is added once per vector
    const int START = T::XNOR ? -C::COLS : 0;

    ap_uint<C::IN_W> buf[C::SF];  // the current vector's beats, replayed for row groups 1..
#pragma HLS ARRAY_PARTITION variable=buf complete dim=1
    ap_int<C::ACC_BITS> acc[C::PE];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=1

    int sf = 0;    // SIMD chunk (input beat) of the vector
    int nf = 0;    // row group
    int row0 = 0;  // nf * PE: the group's first row
    int addr = 0;  // weight word nf * SF + sf
    for (int i = 0; i < STEPS; i++) {
#pragma HLS PIPELINE II=1
        ap_uint<C::IN_W> x;
        if (C::NF == 1 || nf == 0) {
            x = in.read();
            if (C::NF > 1) buf[sf] = x;
        } else {
            x = buf[sf];
        }
        const ap_uint<C::WW> w = C::weight(addr);
        ap_uint<C::OUT_W> beat = 0;
        for (int p = 0; p < C::PE; p++) {
#pragma HLS UNROLL
            const ap_int<C::ACC_BITS> base =
                sf == 0 ? ap_int<C::ACC_BITS>(C::bias(row0 + p) + START) : acc[p];
            const ap_int<C::ACC_BITS> next = base + mvu_detail::dot<C>(x, w, p);
            acc[p] = next;
            beat.range((p + 1) * C::ACC_BITS - 1, p * C::ACC_BITS) = next;
        }
        if (sf == SF_LAST) out.write(beat);

        addr = addr == DEPTH_LAST ? 0 : addr + 1;
        if (sf == SF_LAST) {
            sf = 0;
            nf = nf == NF_LAST ? 0 : nf + 1;
            row0 = nf == 0 ? 0 : row0 + C::PE;
        } else {
            sf++;
        }
    }
}

}  // namespace archgen
