// lif: a layer of spiking neurons (LIF, IF, LI, CubaLIF) on PE lanes per beat; the HLS twin
// of hw/rtl/lif.v, computing what gen/archgen/units/lif.py golden() computes.
//
// One call is one time step: FRAME_BEATS beats of PE input currents; lane p of beat j is
// neuron n = j*PE + p.  Per neuron (codes; sat clamps to [STATE_LO, STATE_HI]):
//
//   drive = (x << IN_SHIFT) + bias[n]              (x >> -IN_SHIFT, floor, when negative)
//   CubaLIF (MODEL 3): i = sat(leak(i, decay_syn[n]) + drive); drive = i
//   v = sat(leak(v, decay[n]) + drive)
//   spiking (MODEL 0 lif, 1 if, 3 cuba): s = v > threshold[n]; the output bit is s, and
//       where s: v = reset_value[n] (RESET 0), v - threshold[n] (RESET 1), v (RESET 2)
//   LI (MODEL 2): the output is v (STATE_BITS two's complement)
//
//   leak(v, d) = (v*d + 2**(DECAY_FRAC-1)) >> DECAY_FRAC   LEAK 0 (multiply; v when NO_LEAK)
//              = v - (v >> d)                               LEAK 1 (shift, arithmetic; d
//                                                            past STATE_BITS-1 as STATE_BITS-1)
//              = v                                          LEAK 2 (none)
//
// State: v (and i for CubaLIF) of every neuron persists from one call to the next in a
// static array owned by the kernel's instantiation for the layer's config (so two layers
// never share state): FRAME_BEATS words of LANES = PE (x2 for CubaLIF: v in lanes 0..PE-1,
// i in PE..2PE-1) STATE_BITS-bit fields, reshaped by lane into one word per beat (the RTL's
// state RAM of FRAME_BEATS x state_words_bits).  Each word is read whole and written whole
// once per call, so the pipelined loop carries no dependence through it (the DEPENDENCE
// pragma says so and II=1 holds); the storage is a simple dual-port RAM (ram_s2p: one read
// and one write port, all the loop needs) in LUT-RAM, or block RAM once it is deeper than
// 64 words and fills an 18 Kb block (mvu's ROM rule), registers for one beat.  A static
// step counter makes every STEPS-th call (STEPS >= 1) the first step of a sample: its
// stored state is read as 0 (no clearing pass).  STEPS == 0: one endless sample, the
// state starts at 0 (static initialization).
//
// Constants: lane p of beat j reads row (j mod ROWS)*PE + p of each table (row 0 for every
// lane when SHARED); ROWS is 1 (shared or one channel group), CHANNELS/PE (per channel) or
// FRAME_BEATS (per neuron).  Widths as the unit derives them: x is extended to X_BITS signed
// bits, the drive is exact in DRIVE_BITS, the leak's product in PROD_BITS, every sum before
// saturation in SUM_BITS; decays are DECAY_BITS unsigned, biases BIAS_BITS signed, reset
// values STATE_BITS signed (in the state's range), thresholds STATE_BITS + 1 signed (any
// of [STATE_LO - 1, STATE_HI]: from always to never spiking; a subtractive reset needs
// threshold >= 0 so that v - threshold stays in the state's range).
// One pipelined loop at II=1 over the frame's beats.
//
// Config C (a layer header's struct, static const ints named as lif.v's parameters; flags
// 0/1): PE, IN_BITS, IN_SIGNED, IN_BIPOLAR, X_BITS, IN_SHIFT, MODEL, LEAK, RESET, NO_LEAK,
// DECAY_FRAC, DECAY_BITS, BIAS_BITS, DRIVE_BITS, SUM_BITS, PROD_BITS, STATE_BITS, OUT_BITS,
// ROWS, SHARED, FRAME_BEATS, STEPS; static ap_int<STATE_BITS> state_lo(), state_hi();
// static ap_uint<DECAY_BITS> decay(int row), decay_syn(int row); static ap_int<BIAS_BITS>
// bias(int row); static ap_int<STATE_BITS + 1> threshold(int row); static
// ap_int<STATE_BITS> reset_value(int row) (tables partitioned cyclically by the PE rows of
// a group).
#pragma once

#include "thresholds.h"  // ap_int.h, hls_stream.h and the elementwise helpers

namespace archgen {
namespace lif_detail {

enum { LIF = 0, IF = 1, LI = 2, CUBA = 3 };  // MODEL
enum { MULTIPLY = 0, SHIFT = 1, NONE = 2 };  // LEAK
enum { TO_VALUE = 0, SUBTRACT = 1, KEEP = 2 };  // RESET
enum { REGISTERS = 0, LUTRAM = 1, BRAM = 2 };  // state storage

template <class C>
struct traits {
    static const int LANES = C::PE * (C::MODEL == CUBA ? 2 : 1);  // state fields per word
    static const int WORD_BITS = LANES * C::STATE_BITS;
    static const int STORAGE = C::FRAME_BEATS == 1 ? REGISTERS
                               : (C::FRAME_BEATS > 64 && C::FRAME_BEATS * WORD_BITS >= 18 * 1024)
                                     ? BRAM : LUTRAM;
    typedef ap_int<C::STATE_BITS> state_t;
};

// leak(v, d) exactly (PROD_BITS holds v*d and the rounding offset), before the drive is added.
template <class C>
ap_int<C::PROD_BITS> leak(ap_int<C::STATE_BITS> v, ap_uint<C::DECAY_BITS> d) {
#pragma HLS INLINE
    const int MAX_SHIFT = C::STATE_BITS - 1;  // v >> d for d >= STATE_BITS - 1: the sign
    ap_int<C::PROD_BITS> r;
    if (C::LEAK == MULTIPLY && !C::NO_LEAK) {
        const ap_int<C::PROD_BITS> prod = v * d;
        const ap_int<C::PROD_BITS> half = ap_int<C::PROD_BITS>(1) << (C::DECAY_FRAC - 1);
        r = (prod + half) >> C::DECAY_FRAC;
    } else if (C::LEAK == SHIFT && !C::NO_LEAK) {
        const int s = d > MAX_SHIFT ? MAX_SHIFT : d.to_int();
        r = v - (v >> s);
    } else {
        r = v;
    }
    return r;
}

// sat(leaked + drive): the sum exact in SUM_BITS, clamped to the state's range.
template <class C, int W>
ap_int<C::STATE_BITS> integrate(ap_int<C::PROD_BITS> leaked, ap_int<W> drive) {
#pragma HLS INLINE
    const ap_int<C::SUM_BITS> sum = leaked + drive;
    const ap_int<C::STATE_BITS> lo = C::state_lo();
    const ap_int<C::STATE_BITS> hi = C::state_hi();
    ap_int<C::STATE_BITS> v;
    if (sum < lo) {
        v = lo;
    } else if (sum > hi) {
        v = hi;
    } else {
        v = sum;
    }
    return v;
}

// One time step over the frame's beats, the state in ``state`` (the caller's static array,
// its storage pragmas at its declaration); ``first``: the stored state reads as 0.
template <class C>
void step(ap_int<C::STATE_BITS> state[C::FRAME_BEATS][traits<C>::LANES], bool first,
          hls::stream<ap_uint<C::PE * C::IN_BITS> > &in,
          hls::stream<ap_uint<C::PE * C::OUT_BITS> > &out) {
#pragma HLS INLINE
    typedef ap_int<C::STATE_BITS> state_t;
    const int LS = C::IN_SHIFT > 0 ? C::IN_SHIFT : 0;
    const int RS = C::IN_SHIFT < 0 ? -C::IN_SHIFT : 0;
    const int STRIDE = C::SHARED ? 0 : C::PE;  // table rows per beat

    const int LANES = traits<C>::LANES;

    int row0 = 0;  // the beat's first table row: (j mod C::ROWS) * PE
    for (int j = 0; j < C::FRAME_BEATS; j++) {
#pragma HLS PIPELINE II=1
#pragma HLS DEPENDENCE variable=state type=inter dependent=false
        // the beat's state word, read once and written once (whole: all LANES fields)
        state_t cur[LANES];
        state_t nxt[LANES];
#pragma HLS ARRAY_PARTITION variable=cur complete dim=1
#pragma HLS ARRAY_PARTITION variable=nxt complete dim=1
        for (int k = 0; k < LANES; k++) {
#pragma HLS UNROLL
            cur[k] = first ? state_t(0) : state[j][k];
        }
        const ap_uint<C::PE * C::IN_BITS> x = in.read();
        ap_uint<C::PE * C::OUT_BITS> beat = 0;
        for (int p = 0; p < C::PE; p++) {
#pragma HLS UNROLL
            const int row = row0 + (C::SHARED ? 0 : p);
            const ap_int<C::X_BITS> xe =
                elementwise::extend<C::X_BITS, C::IN_BITS, C::IN_SIGNED, C::IN_BIPOLAR>(
                    x.range((p + 1) * C::IN_BITS - 1, p * C::IN_BITS));
            const ap_int<C::X_BITS + LS> xs = (ap_int<C::X_BITS + LS>(xe) << LS) >> RS;
            const ap_int<C::DRIVE_BITS> drive = xs + C::bias(row);
            state_t v;
            if (C::MODEL == CUBA) {  // i in field PE + p (% LANES: in range in every model)
                const state_t i =
                    integrate<C>(leak<C>(cur[(C::PE + p) % LANES], C::decay_syn(row)), drive);
                nxt[(C::PE + p) % LANES] = i;
                v = integrate<C>(leak<C>(cur[p], C::decay(row)), i);
            } else {
                v = integrate<C>(leak<C>(cur[p], C::decay(row)), drive);
            }
            if (C::MODEL == LI) {
                beat.range((p + 1) * C::OUT_BITS - 1, p * C::OUT_BITS) = ap_uint<C::OUT_BITS>(v);
            } else {
                const ap_int<C::STATE_BITS + 1> th = C::threshold(row);
                const bool s = v > th;
                beat[p * C::OUT_BITS] = s;
                if (s && C::RESET == TO_VALUE) v = C::reset_value(row);
                if (s && C::RESET == SUBTRACT) v = v - th;
            }
            nxt[p] = v;
        }
        for (int k = 0; k < LANES; k++) {
#pragma HLS UNROLL
            state[j][k] = nxt[k];
        }
        out.write(beat);
        row0 = row0 == (C::ROWS - 1) * STRIDE ? 0 : row0 + STRIDE;
    }
}

// The state of one layer (config C) in the storage STORAGE names.
template <class C, int STORAGE>
struct layer;

template <class C>
struct layer<C, REGISTERS> {
    static void frame(bool first, hls::stream<ap_uint<C::PE * C::IN_BITS> > &in,
                      hls::stream<ap_uint<C::PE * C::OUT_BITS> > &out) {
#pragma HLS INLINE
        static ap_int<C::STATE_BITS> state[C::FRAME_BEATS][traits<C>::LANES];
#pragma HLS ARRAY_PARTITION variable=state complete dim=0
        step<C>(state, first, in, out);
    }
};

template <class C>
struct layer<C, LUTRAM> {
    static void frame(bool first, hls::stream<ap_uint<C::PE * C::IN_BITS> > &in,
                      hls::stream<ap_uint<C::PE * C::OUT_BITS> > &out) {
#pragma HLS INLINE
        static ap_int<C::STATE_BITS> state[C::FRAME_BEATS][traits<C>::LANES];
#pragma HLS ARRAY_RESHAPE variable=state complete dim=2
#pragma HLS BIND_STORAGE variable=state type=ram_s2p impl=lutram
        step<C>(state, first, in, out);
    }
};

template <class C>
struct layer<C, BRAM> {
    static void frame(bool first, hls::stream<ap_uint<C::PE * C::IN_BITS> > &in,
                      hls::stream<ap_uint<C::PE * C::OUT_BITS> > &out) {
#pragma HLS INLINE
        static ap_int<C::STATE_BITS> state[C::FRAME_BEATS][traits<C>::LANES];
#pragma HLS ARRAY_RESHAPE variable=state complete dim=2
#pragma HLS BIND_STORAGE variable=state type=ram_s2p impl=bram
        step<C>(state, first, in, out);
    }
};

}  // namespace lif_detail

// One time step (one frame): FRAME_BEATS beats in, FRAME_BEATS beats out.
template <class C>
void lif(hls::stream<ap_uint<C::PE * C::IN_BITS> > &in,
         hls::stream<ap_uint<C::PE * C::OUT_BITS> > &out) {
#pragma HLS INLINE off
    static_assert(C::PE >= 1 && C::IN_BITS >= 1, "lif: PE and IN_BITS must be >= 1");
    static_assert(!C::IN_BIPOLAR || C::IN_BITS == 1, "lif: a bipolar input has 1 bit");
    static_assert(C::MODEL >= 0 && C::MODEL <= 3 && C::LEAK >= 0 && C::LEAK <= 2 &&
                      C::RESET >= 0 && C::RESET <= 2,
                  "lif: MODEL must be in 0..3, LEAK and RESET in 0..2");
    static_assert(C::LEAK != lif_detail::MULTIPLY || C::DECAY_FRAC >= 1,
                  "lif: a multiplying leak needs DECAY_FRAC >= 1");
    static_assert(C::STATE_BITS >= 2 && C::STATE_BITS <= 63 && C::BIAS_BITS >= 2 &&
                      C::BIAS_BITS <= 63 && C::DECAY_BITS >= 1 && C::DECAY_BITS <= 31,
                  "lif: STATE_BITS and BIAS_BITS must be in 2..63, DECAY_BITS in 1..31");
    static_assert(C::DRIVE_BITS >= 2 && C::SUM_BITS >= C::STATE_BITS &&
                      C::PROD_BITS >= C::STATE_BITS + C::DECAY_BITS + 1,
                  "lif: DRIVE_BITS, SUM_BITS and PROD_BITS narrower than the unit derives them");
    static_assert(C::OUT_BITS == (C::MODEL == lif_detail::LI ? C::STATE_BITS : 1),
                  "lif: OUT_BITS is 1 (spikes) or STATE_BITS (LI's membrane)");
    static_assert(C::ROWS >= 1 && (!C::SHARED || C::ROWS == 1),
                  "lif: ROWS must be >= 1 (1 when SHARED)");
    static_assert(C::FRAME_BEATS >= 1 && C::FRAME_BEATS % C::ROWS == 0,
                  "lif: FRAME_BEATS must be a multiple of ROWS");
    static_assert(C::STEPS >= 0, "lif: STEPS must be >= 0 (0: one endless sample)");

    static int t = 0;  // the time step within the sample: 0..STEPS-1
    const bool first = C::STEPS > 0 && t == 0;
    lif_detail::layer<C, lif_detail::traits<C>::STORAGE>::frame(first, in, out);
    if (C::STEPS > 0) t = t == C::STEPS - 1 ? 0 : t + 1;
}

}  // namespace archgen
