// synapse: event-driven synaptic accumulation, the dense arithmetic of spiking layers,
// skipping the zero spikes; the HLS twin of hw/rtl/synapse.v, computing what
// gen/archgen/units/synapse.py golden() computes.
//
// For every vector of COLS spike bits s[k] and every row n of the ROWS x COLS weight matrix W:
//     acc[n] = sum_k W[n, k] * s[k]                       (modulo 2^ACC_BITS)
// ACC_BITS holds the exact result range, so the modulo arithmetic of the ap_int types is
// exact on every output.  A frame (one time step) is VECTORS vectors: 1 for a dense synapse,
// one per output position (a window) for a convolution.
//
// Two processes in a dataflow region, so the receive of the next vector overlaps the compute
// and emit of this one (the RTL's second mask register is the stream between them):
//   receive: SF = COLS/SIMD beats of SIMD spike bits (spike s of a beat at bit s) shifted
//            into a COLS-bit mask, one beat per cycle;
//   walk:    one pipelined loop (II=1): while the mask has a set bit, the lowest one k
//            (priority encoder) and each row group g of NF = ROWS/PE add the weight word at
//            k*NF + g (PE lanes of W_BITS, lane p holding W[g*PE + p, k]) to the group's PE
//            accumulators, then bit k is cleared; then NF beats of PE accumulators leave
//            (row g*PE + p at bits [p*ACC_BITS, (p+1)*ACC_BITS)), each group cleared as it
//            is read.  (nnz + 1) * NF iterations for nnz spikes: zero spikes cost nothing.
// The accumulators are the process's state (static, zero at start, cleared by the emit).
//
// Config C (a layer header's struct, all static const int; flags are 0/1):
//   ROWS, COLS, PE, SIMD, NF, SF, VECTORS, W_BITS, W_SIGNED, W_BIPOLAR, ACC_BITS, IN_W (= SIMD),
//   OUT_W (= PE*ACC_BITS), WW (= PE*W_BITS), DEPTH (= COLS*NF);
//   static ap_uint<WW> weight(int addr).
// COLS is at most AP_INT_MAX_W (1024 unless defined before the first ap_int.h include): the
// mask is one ap_uint<COLS>.
#pragma once

#include "archgen_ap_types.h"
#include "mvu.h"

namespace archgen {
namespace synapse_detail {

// The spike bits of each vector of a frame into a mask: each beat shifts in at the top, so
// after SF beats spike k is bit k.
template <class C>
void receive(hls::stream<ap_uint<C::IN_W> > &in, hls::stream<ap_uint<C::COLS> > &masks) {
#pragma HLS INLINE off
    ap_uint<C::COLS> mask = 0;
    for (int i = 0; i < C::VECTORS * C::SF; i++) {
#pragma HLS PIPELINE II=1
        const ap_uint<C::IN_W> beat = in.read();
        if (C::SF == 1) {
            mask = beat;
        } else {
            mask = mask >> C::SIMD;
            mask.range(C::COLS - 1, C::COLS - C::SIMD) = beat;
        }
        if (i % C::SF == C::SF - 1) masks.write(mask);
    }
}

// The index of the one set bit of a one-hot word (0 for 0): OR of the indices of set bits.
template <int W>
int onehot_index(const ap_uint<W> &onehot) {
#pragma HLS INLINE
    int k = 0;
    for (int i = 0; i < W; i++) {
#pragma HLS UNROLL
        if (onehot[i]) k |= i;
    }
    return k;
}

// Walk the set bits of one vector's mask, then emit and clear the accumulators.
template <class C>
void walk_vector(hls::stream<ap_uint<C::COLS> > &masks, hls::stream<ap_uint<C::OUT_W> > &out) {
#pragma HLS INLINE off
    // the state across vectors: zero at start, every group cleared as it is emitted
    static ap_int<C::ACC_BITS> acc[C::NF][C::PE];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=2
#pragma HLS BIND_STORAGE variable=acc type=ram_2p impl=lutram
    // steps on one group are NF iterations apart; with NF = 1 the array is registers
#pragma HLS DEPENDENCE variable=acc type=inter dependent=false
    const int NF_LAST = C::NF - 1;
    const int STEPS = (C::COLS + 1) * C::NF;  // every spike set, then the emit

    ap_uint<C::COLS> mask = masks.read();
    int g = 0;
    for (int i = 0; i < STEPS; i++) {
#pragma HLS PIPELINE II=1
        const ap_uint<C::COLS> lowest = mask & ap_uint<C::COLS>(~mask + 1);
        if (mask != 0) {
            const int k = onehot_index<C::COLS>(lowest);
            const ap_uint<C::WW> w = C::weight(k * C::NF + g);
            for (int p = 0; p < C::PE; p++) {
#pragma HLS UNROLL
                const ap_uint<C::W_BITS> code = w.range((p + 1) * C::W_BITS - 1, p * C::W_BITS);
                acc[g][p] += mvu_detail::value<C::W_BITS, C::W_SIGNED, C::W_BIPOLAR>(code);
            }
            if (g == NF_LAST) mask ^= lowest;
        } else {
            ap_uint<C::OUT_W> beat = 0;
            for (int p = 0; p < C::PE; p++) {
#pragma HLS UNROLL
                beat.range((p + 1) * C::ACC_BITS - 1, p * C::ACC_BITS) = acc[g][p];
                acc[g][p] = 0;
            }
            out.write(beat);
            if (g == NF_LAST) break;
        }
        g = g == NF_LAST ? 0 : g + 1;
    }
}

// Each vector of a frame.
template <class C>
void walk(hls::stream<ap_uint<C::COLS> > &masks, hls::stream<ap_uint<C::OUT_W> > &out) {
#pragma HLS INLINE off
    for (int v = 0; v < C::VECTORS; v++) walk_vector<C>(masks, out);
}

}  // namespace synapse_detail

// One frame: VECTORS * SF beats of spikes in, VECTORS * NF beats of accumulators out.
template <class C>
void synapse(hls::stream<ap_uint<C::IN_W> > &in, hls::stream<ap_uint<C::OUT_W> > &out) {
#pragma HLS INLINE off
#pragma HLS DATAFLOW
    static_assert(C::PE >= 1 && C::NF * C::PE == C::ROWS, "synapse: PE must divide ROWS");
    static_assert(C::SIMD >= 1 && C::SF * C::SIMD == C::COLS, "synapse: SIMD must divide COLS");
    static_assert(C::IN_W == C::SIMD && C::OUT_W == C::PE * C::ACC_BITS &&
                      C::WW == C::PE * C::W_BITS && C::DEPTH == C::COLS * C::NF,
                  "synapse: inconsistent widths");
    static_assert(!C::W_BIPOLAR || (C::W_BITS == 1 && C::ACC_BITS >= 2),
                  "synapse: bipolar weights have 1 bit and need ACC_BITS >= 2");
    hls::stream<ap_uint<C::COLS> > masks;
#pragma HLS STREAM variable=masks depth=2
    synapse_detail::receive<C>(in, masks);
    synapse_detail::walk<C>(masks, out);
}

}  // namespace archgen
