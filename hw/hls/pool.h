// pool: pooling layers; the HLS twins of hw/rtl/pool.v (window reduce) and hw/rtl/gpool.v
// (global pooling), computing what gen/archgen/units/pool.py golden() computes.
//
// pool_reduce<C>: max or sum per channel over each output pixel's TAPS window taps.
//   Input : per output pixel, TAPS taps in order, each tap CHANNELS elements (channels
//           minor), PE elements per beat (CF = CHANNELS/PE beats per tap); PIXELS output
//           pixels per frame (an swg's output, or for global pooling the frame's pixels
//           themselves with TAPS = pixels per frame, PIXELS = 1).
//   Output: per output pixel, CF beats of PE reduced elements, OUT_BITS each (the low bits
//           of the ACC_BITS accumulator), during the pixel's last tap.
//   Elements are sign-extended (IN_SIGNED), zero-extended, or read as a bipolar bit
//   (IN_BIPOLAR: 0 -> -1, 1 -> +1) to ACC_BITS signed bits; ACC_BITS holds every partial
//   result (the unit computes it from the value ranges).  Tap 0 loads a channel's
//   accumulator, later taps combine into it (max: a larger element replaces it; sum: add).
//   One pipelined loop at II=1 walks (pixel, tap, channel group), one input beat each; the
//   CF accumulator groups live in a shift register of CF entries (group cf comes back to
//   its head CF beats later, at the next tap) as in vvu.h, so the loop has no memory
//   read-modify-write to schedule.
//
// pool<C>: a windowed pooling layer, the swg (swg.h, config C::window, SIMD = PE) streaming
//   each window tap-major, channels minor, into pool_reduce<C> through an hls::stream, in
//   one DATAFLOW region.
//
// gpool<C>: global pooling (no padding, the window is the frame): pool_reduce<C> alone on the
//   input stream, with TAPS = the frame's pixels and PIXELS = 1 (no line buffer).
//
// Config C (a layer header's struct, static const ints named as pool.v's parameters; flags
// are 0/1): PE, CHANNELS, TAPS, PIXELS, IN_BITS, IN_SIGNED, IN_BIPOLAR, ACC_BITS, OUT_BITS,
// MAX (1: max, 0: sum); for pool<C> also a struct `window`, the swg's config (swg.h).
#pragma once

#include "swg.h"  // ap_int.h, hls_stream.h and the window generator

namespace archgen {

// One frame: PIXELS*TAPS*CF input beats in, PIXELS*CF output beats out.
template <class C>
void pool_reduce(hls::stream<ap_uint<C::PE * C::IN_BITS> > &in,
                 hls::stream<ap_uint<C::PE * C::OUT_BITS> > &out) {
#pragma HLS INLINE off
    static_assert(C::PE >= 1 && C::CHANNELS % C::PE == 0, "pool: PE must divide CHANNELS");
    static_assert(C::TAPS >= 1 && C::PIXELS >= 1, "pool: TAPS and PIXELS must be >= 1");
    static_assert(C::IN_BITS >= 1, "pool: IN_BITS must be >= 1");
    static_assert(!C::IN_BIPOLAR || (C::IN_BITS == 1 && C::ACC_BITS >= 2),
                  "pool: bipolar input needs IN_BITS = 1 and ACC_BITS >= 2");
    static_assert(C::ACC_BITS >= C::IN_BITS + (C::IN_SIGNED ? 0 : 1),
                  "pool: ACC_BITS cannot hold the inputs as signed values");
    static_assert(C::OUT_BITS >= 1 && C::OUT_BITS <= C::ACC_BITS, "pool: OUT_BITS in 1..ACC_BITS");
    const int CF = C::CHANNELS / C::PE;  // beats per tap
    const int STEPS = C::PIXELS * C::TAPS * CF;

    // partial results: acc[j] holds the channel group that left the reducers j+1 beats ago
    ap_int<C::ACC_BITS> acc[CF][C::PE];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=0

    int cf = 0;   // channel group of the beat
    int tap = 0;  // window tap of the beat
    for (int i = 0; i < STEPS; i++) {
#pragma HLS PIPELINE II=1
        const ap_uint<C::PE * C::IN_BITS> x = in.read();
        ap_int<C::ACC_BITS> next[C::PE];
#pragma HLS ARRAY_PARTITION variable=next complete dim=1
        ap_uint<C::PE * C::OUT_BITS> beat = 0;
        for (int p = 0; p < C::PE; p++) {
#pragma HLS UNROLL
            const ap_uint<C::IN_BITS> xp = x.range((p + 1) * C::IN_BITS - 1, p * C::IN_BITS);
            ap_int<C::ACC_BITS> xv;
            if (C::IN_BIPOLAR) {
                xv = xp[0] ? 1 : -1;
            } else if (C::IN_SIGNED) {
                xv = ap_int<C::IN_BITS>(xp);
            } else {
                xv = xp;
            }
            const ap_int<C::ACC_BITS> a = acc[CF - 1][p];
            if (C::MAX) {
                next[p] = (tap == 0 || xv > a) ? xv : a;
            } else {
                next[p] = tap == 0 ? xv : ap_int<C::ACC_BITS>(a + xv);
            }
            beat.range((p + 1) * C::OUT_BITS - 1, p * C::OUT_BITS) = ap_uint<C::OUT_BITS>(next[p]);
        }
        for (int j = CF - 1; j > 0; j--) {
#pragma HLS UNROLL
            for (int p = 0; p < C::PE; p++) {
#pragma HLS UNROLL
                acc[j][p] = acc[j - 1][p];
            }
        }
        for (int p = 0; p < C::PE; p++) {
#pragma HLS UNROLL
            acc[0][p] = next[p];
        }
        if (tap == C::TAPS - 1) out.write(beat);

        if (cf == CF - 1) {
            cf = 0;
            tap = tap == C::TAPS - 1 ? 0 : tap + 1;
        } else {
            cf++;
        }
    }
}

// One frame of a windowed pooling layer: the swg's input beats in, PIXELS*CF beats out.
template <class C>
void pool(hls::stream<ap_uint<C::PE * C::IN_BITS> > &in,
          hls::stream<ap_uint<C::PE * C::OUT_BITS> > &out) {
#pragma HLS INLINE off
#pragma HLS DATAFLOW
    typedef typename C::window W;
    static_assert(W::SIMD == C::PE && W::CHANNELS == C::CHANNELS && W::BITS == C::IN_BITS &&
                      W::KH * W::KW == C::TAPS && W::OH * W::OW == C::PIXELS,
                  "pool: the window generator does not match the reduce");
    hls::stream<ap_uint<C::PE * C::IN_BITS> > windows("windows");
#pragma HLS STREAM variable=windows depth=2
    swg<W>(in, windows);
    pool_reduce<C>(windows, out);
}

// One frame of global pooling: every pixel's beats in, CF beats out.
template <class C>
void gpool(hls::stream<ap_uint<C::PE * C::IN_BITS> > &in,
           hls::stream<ap_uint<C::PE * C::OUT_BITS> > &out) {
#pragma HLS INLINE
    static_assert(C::PIXELS == 1, "gpool: one output pixel per frame (TAPS = input pixels)");
    pool_reduce<C>(in, out);
}

}  // namespace archgen
