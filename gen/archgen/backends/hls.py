"""Vitis HLS backend: one header per layer (a config struct and a one-frame function that
calls a hand-written kernel of hw/hls/), a DATAFLOW top function, a C testbench and
build_prj.tcl."""

from __future__ import annotations

from ..units import unit_of
from .render import render


def layer_files(name: str, op, ins, outs) -> dict:
    """{file name: text} of the layer header ``<name>.h``: ``templates/hls/<kind>.h.j2``
    rendered with ``name`` and the unit's context().  The header defines
    ``void <name>(hls::stream<ap_uint<IN_W> > &in0, ..., hls::stream<ap_uint<OUT_W> > &out0)``
    processing one frame; streams carry the same beat words as the RTL's."""
    ctx = unit_of(op).context(op, list(ins), list(outs))
    return {f"{name}.h": render(f"hls/{op.kind()}.h.j2", name=name, **ctx)}
