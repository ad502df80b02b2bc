// streams: the stream plumbing the HLS backend inserts between layers; the HLS twins of
// hw/rtl/axis_fork.v and hw/rtl/axis_width.v.  Each call processes one frame.
//
//   archgen::fork<W, N, BEATS>(in, out_0, ..., out_{N-1})
//       copies each of the frame's BEATS beats of W bits to every one of the N >= 2 outputs
//       (a tensor read by several layers); one beat per cycle (II=1).
//   archgen::width<BITS, IN_LANES, OUT_LANES, ELEMENTS>(in, out)
//       regroups a frame of ELEMENTS elements of BITS bits from beats of IN_LANES elements to
//       beats of OUT_LANES (one lane count a multiple of the other; the backend chains two
//       converters through the gcd otherwise).  Element order is kept: upsizing packs
//       OUT_LANES/IN_LANES input beats into one output beat, the first in the low lanes;
//       downsizing sends the low OUT_LANES elements of an input beat first.  One beat per
//       cycle on the narrow side (II=1); equal lane counts copy the beats.
#pragma once

#include "archgen_ap_types.h"

namespace archgen {
namespace streams_detail {

// One write of a fork; a W-bit beat only goes to a stream of W-bit beats.
template <int W>
int put(hls::stream<ap_uint<W> > &out, const ap_uint<W> &v) {
#pragma HLS INLINE
    out.write(v);
    return 0;
}

// The converter for each direction: DIR = 1 upsizing, -1 downsizing, 0 equal lane counts.
template <int BITS, int IN_LANES, int OUT_LANES, int ELEMENTS, int DIR>
struct width_impl;

template <int BITS, int IN_LANES, int OUT_LANES, int ELEMENTS>
struct width_impl<BITS, IN_LANES, OUT_LANES, ELEMENTS, 0> {
    static void run(hls::stream<ap_uint<IN_LANES * BITS> > &in,
                    hls::stream<ap_uint<OUT_LANES * BITS> > &out) {
#pragma HLS INLINE
        for (int i = 0; i < ELEMENTS / IN_LANES; i++) {
#pragma HLS PIPELINE II=1
            out.write(in.read());
        }
    }
};

template <int BITS, int IN_LANES, int OUT_LANES, int ELEMENTS>
struct width_impl<BITS, IN_LANES, OUT_LANES, ELEMENTS, 1> {
    static void run(hls::stream<ap_uint<IN_LANES * BITS> > &in,
                    hls::stream<ap_uint<OUT_LANES * BITS> > &out) {
#pragma HLS INLINE
        const int IW = IN_LANES * BITS;
        const int OW = OUT_LANES * BITS;
        const int LAST = OUT_LANES / IN_LANES - 1;
        ap_uint<OW> word = 0;  // input beats shift in at the top: the first ends in the low lanes
        int slot = 0;          // input beats of the output beat so far
        for (int i = 0; i < ELEMENTS / IN_LANES; i++) {
#pragma HLS PIPELINE II=1
            const ap_uint<IW> v = in.read();
            word = (word >> IW) | (ap_uint<OW>(v) << (OW - IW));
            if (slot == LAST) {
                out.write(word);
                slot = 0;
            } else {
                slot++;
            }
        }
    }
};

template <int BITS, int IN_LANES, int OUT_LANES, int ELEMENTS>
struct width_impl<BITS, IN_LANES, OUT_LANES, ELEMENTS, -1> {
    static void run(hls::stream<ap_uint<IN_LANES * BITS> > &in,
                    hls::stream<ap_uint<OUT_LANES * BITS> > &out) {
#pragma HLS INLINE
        const int IW = IN_LANES * BITS;
        const int OW = OUT_LANES * BITS;
        const int LAST = IN_LANES / OUT_LANES - 1;
        ap_uint<IW> rest = 0;  // the input beat's lanes not sent yet, in its low bits
        int slot = 0;          // output beats of the input beat so far
        for (int i = 0; i < ELEMENTS / OUT_LANES; i++) {
#pragma HLS PIPELINE II=1
            const ap_uint<IW> cur = slot == 0 ? in.read() : rest;
            out.write(ap_uint<OW>(cur));
            rest = cur >> OW;
            slot = slot == LAST ? 0 : slot + 1;
        }
    }
};

}  // namespace streams_detail

template <int W, int N, int BEATS, class... S>
void fork(hls::stream<ap_uint<W> > &in, S &...out) {
#pragma HLS INLINE off
    static_assert(N >= 2 && sizeof...(S) == N, "fork: N >= 2 output streams");
    static_assert(W >= 1 && BEATS >= 1, "fork: W and BEATS must be >= 1");
    for (int i = 0; i < BEATS; i++) {
#pragma HLS PIPELINE II=1
        const ap_uint<W> v = in.read();
        const int done[N] = {streams_detail::put<W>(out, v)...};
        (void)done;
    }
}

template <int BITS, int IN_LANES, int OUT_LANES, int ELEMENTS>
void width(hls::stream<ap_uint<IN_LANES * BITS> > &in, hls::stream<ap_uint<OUT_LANES * BITS> > &out) {
#pragma HLS INLINE off
    static_assert(BITS >= 1 && IN_LANES >= 1 && OUT_LANES >= 1, "width: BITS and lanes >= 1");
    static_assert(IN_LANES % OUT_LANES == 0 || OUT_LANES % IN_LANES == 0,
                  "width: one lane count must be a multiple of the other");
    static_assert(ELEMENTS >= 1 && ELEMENTS % IN_LANES == 0 && ELEMENTS % OUT_LANES == 0,
                  "width: a frame must be whole beats on both sides");
    streams_detail::width_impl<BITS, IN_LANES, OUT_LANES, ELEMENTS,
                               (OUT_LANES > IN_LANES) - (OUT_LANES < IN_LANES)>::run(in, out);
}

}  // namespace archgen
