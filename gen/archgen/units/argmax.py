"""Label select: index of the largest code along the last axis (first one on ties).

Hardware (hw/rtl/argmax.v): PE elements per input beat (a tournament over the lanes,
then a running best over the vector's beats), one index per output beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from ..ir.ops import Op
from ..ir.types import QuantSpec
from .thresholds import element_flags, element_width, stream_geometry


@dataclass(frozen=True, eq=False)
class Params(Op):
    keepdims: bool = True
    pe: int = 1  # lanes per input beat (set by folding); divides the last dimension

    @classmethod
    def kind(cls):
        return "argmax"

    def infer(self, ins):
        x = ins[0]
        if x.quant is None or x.quant.per_channel:
            raise InternalError("argmax needs codes with one scale")
        n = x.shape[-1]
        shape = x.shape[:-1] + ((1,) if self.keepdims else ())
        return [(shape, QuantSpec.for_range(0, max(n - 1, 1)))]


def golden(p: Params, x: np.ndarray) -> list:
    return [np.argmax(x, axis=-1, keepdims=p.keepdims).astype(np.int64)]


CELLS = ("argmax.v",)
# pipeline registers; first input beat to last output beat = cycles + STAGES
STAGES = 3  # registered input, best lane of the beat, running best / output


def derive(p: Params, ins, outs) -> dict:
    """Lanes, beats per frame and vector, vectors per frame, compare and index widths."""
    x, y = ins[0], outs[0]
    n = x.shape[-1] if x.shape else 1
    _, beats = stream_geometry("argmax", x, p.pe, n)
    if y.quant.signed or y.quant.bipolar or y.quant.bits > 32 or (n - 1) >> y.quant.bits:
        raise InternalError(f"argmax: output {y.name} ({y.quant}) cannot hold the indexes "
                            f"0..{n - 1} as an unsigned integer of at most 32 bits")
    return {"in_lanes": [p.pe], "out_lanes": [1], "n": n, "vectors": x.size // n,
            "frame_beats": beats, "vector_beats": n // p.pe, "cycles": beats,
            "pipeline_cycles": STAGES, "x_bits": element_width(x.quant), "out_bits": y.quant.bits}


def context(p: Params, ins, outs) -> dict:
    x = ins[0]
    return {**derive(p, ins, outs), "pe": p.pe, "in": element_flags(x.quant),
            "in_width": p.pe * x.quant.bits}
