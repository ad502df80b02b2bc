// chslice: channel slice of a stream, y = x[..., start:stop] (channels last); the HLS twin
// of hw/rtl/chslice.v, computing what gen/archgen/units/chslice.py golden() computes.
//
// Each pixel arrives as GROUPS beats of W bits (a lane group: LANES elements); the beats of
// groups FIRST..LAST (start/LANES .. stop/LANES - 1) are written to the output unchanged,
// the others are read and dropped.  One pipelined loop at II=1 over the frame's input beats.
//
// Config C (a layer header's struct, static const ints named as chslice.v's parameters):
// W (tdata bits of both streams), GROUPS, FIRST, LAST, PIXELS, and IN_BEATS (= PIXELS *
// GROUPS), OUT_BEATS (= PIXELS * (LAST - FIRST + 1)).
#pragma once

#include "archgen_ap_types.h"

namespace archgen {

// One frame: IN_BEATS beats read, OUT_BEATS of them written.
template <class C>
void chslice(hls::stream<ap_uint<C::W> > &in, hls::stream<ap_uint<C::W> > &out) {
#pragma HLS INLINE off
    static_assert(C::W >= 1 && C::GROUPS >= 1 && C::PIXELS >= 1, "chslice: empty stream");
    static_assert(0 <= C::FIRST && C::FIRST <= C::LAST && C::LAST < C::GROUPS,
                  "chslice: FIRST <= LAST must be lane groups of a pixel");
    static_assert(C::IN_BEATS == C::PIXELS * C::GROUPS &&
                  C::OUT_BEATS == C::PIXELS * (C::LAST - C::FIRST + 1),
                  "chslice: inconsistent beat counts");
    int group = 0;  // lane group of the beat read
    for (int i = 0; i < C::IN_BEATS; i++) {
#pragma HLS PIPELINE II=1
        const ap_uint<C::W> v = in.read();
        if (group >= C::FIRST && group <= C::LAST) out.write(v);
        group = group == C::GROUPS - 1 ? 0 : group + 1;
    }
}

}  // namespace archgen
