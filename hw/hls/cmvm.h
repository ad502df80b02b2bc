// cmvm: constant-coefficient matrix-vector unit, fully parallel (the latency strategy's
// dense layer); the HLS twin of hw/rtl/cmvm.v, computing what gen/archgen/units/cmvm.py
// golden() computes.
//
// For every input vector x of COLS elements and every row n:
//     acc[n] = sum_k (x[k] - ZERO_POINT) * W[n, k]           (exact in ACC_BITS)
// and with the output stage (REQUANT = 1, a requantizer folded in):
//     y[n] = clip((acc[n] * M[n] + B[n]) >> SHIFT, OUT_LO, OUT_HI)   (floor shift, exact in
//            RQ_BITS; the code is the low OUT_BITS bits)
// The weights, M and B are constants of the layer header, so the unrolled loops are
// constant multiplications: Vitis HLS builds them from shift-adds (its own adder graphs,
// not archgen's CSD program, which is the RTL's).  One vector per beat (element k at bits
// [k*IN_BITS, (k+1)*IN_BITS)), one output beat per vector (row n at
// [n*OW, (n+1)*OW), OW = OUT_BITS with the stage, else ACC_BITS); one pipelined loop at
// II=1 over the VECTORS vectors of a frame.
//
// Config C (a layer header's struct): static const ints ROWS, COLS, VECTORS, IN_BITS,
// IN_SIGNED, IN_BIPOLAR, ZERO_POINT, XS_BITS (signed bits of x - ZERO_POINT), ACC_BITS,
// REQUANT, RQ_BITS, SHIFT, OUT_BITS, IN_W (= COLS*IN_BITS), OUT_W (= ROWS*OW); static int
// w(int n, int k) (a constant table), static ap_int<RQ_BITS> mult(int n), bias(int n),
// lo(), hi().
#pragma once

#include "archgen_ap_types.h"
#include "mvu.h"

namespace archgen {

// One frame: VECTORS beats in, VECTORS beats out.
template <class C>
void cmvm(hls::stream<ap_uint<C::IN_W> > &in, hls::stream<ap_uint<C::OUT_W> > &out) {
#pragma HLS INLINE off
    const int OW = C::REQUANT ? C::OUT_BITS : C::ACC_BITS;
    static_assert(C::ROWS >= 1 && C::COLS >= 1 && C::VECTORS >= 1,
                  "cmvm: ROWS, COLS and VECTORS must be >= 1");
    static_assert(!C::IN_BIPOLAR || (C::IN_BITS == 1 && C::ZERO_POINT == 0),
                  "cmvm: a bipolar input has 1 bit and no zero point");
    static_assert(C::IN_W == C::COLS * C::IN_BITS && C::OUT_W == C::ROWS * OW,
                  "cmvm: inconsistent widths");
    static_assert(!C::REQUANT || (C::SHIFT >= 0 && C::OUT_BITS >= 1 && C::RQ_BITS > C::SHIFT),
                  "cmvm: the output stage needs SHIFT >= 0, OUT_BITS >= 1, RQ_BITS > SHIFT");
    for (int v = 0; v < C::VECTORS; v++) {
#pragma HLS PIPELINE II=1
        const ap_uint<C::IN_W> beat = in.read();
        ap_int<C::XS_BITS> xs[C::COLS];
#pragma HLS ARRAY_PARTITION variable=xs complete
        for (int k = 0; k < C::COLS; k++) {
#pragma HLS UNROLL
            const ap_uint<C::IN_BITS> code = beat.range((k + 1) * C::IN_BITS - 1, k * C::IN_BITS);
            xs[k] = mvu_detail::value<C::IN_BITS, C::IN_SIGNED, C::IN_BIPOLAR>(code) - C::ZERO_POINT;
        }
        ap_uint<C::OUT_W> o = 0;
        for (int n = 0; n < C::ROWS; n++) {
#pragma HLS UNROLL
            ap_int<C::ACC_BITS> acc = 0;
            for (int k = 0; k < C::COLS; k++) {
#pragma HLS UNROLL
                acc += xs[k] * C::w(n, k);
            }
            ap_uint<OW> y;
            if (C::REQUANT) {
                ap_int<C::RQ_BITS> t = ap_int<C::RQ_BITS>(acc) * C::mult(n) + C::bias(n);
                t = t >> C::SHIFT;
                if (t < C::lo()) t = C::lo();
                if (t > C::hi()) t = C::hi();
                y = t;  // the low OUT_BITS bits: the code
            } else {
                y = acc;
            }
            o.range((n + 1) * OW - 1, n * OW) = y;
        }
        out.write(o);
    }
}

}  // namespace archgen
