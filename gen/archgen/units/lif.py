"""Spiking neuron layer: leaky integrate-and-fire (LIF), integrate-and-fire (IF), leaky
integrator (LI) and current-based LIF (CubaLIF), in exact integers.

A frame is one time step: the synaptic input of every neuron of the layer (an integer
current, the accumulator of the mvu in front).  State persists from one frame to the
next and starts at zero on the first of every ``steps`` frames (one sample is ``steps``
consecutive frames; the golden model's batch axis is sample-major: b0t0, b0t1, ...).

Per neuron n and time step (codes; the membrane type ``state`` is fixed<W,I>, LSB 2**-F):

    drive = (x << in_shift) + bias[n]            (x >> -in_shift, floor, when negative)
    CubaLIF only: i = sat(leak(i, decay_syn[n]) + drive);  drive = i
    v = sat(leak(v, decay[n]) + drive)
    spiking models: s = v > threshold[n]; where s: v = reset[n] (zero), v - threshold[n]
                   (subtract) or v (none); the output is s (0/1)
    LI: no spike; the output is v

    leak(v, d) = (v * d + 2**(D-1)) >> D    multiply: d = round(beta * 2**D), D = decay_bits
               = v - (v >> d)                shift:    beta = 1 - 2**-d
               = v                           none (IF)

``sat`` clamps to the state type's range.  This is snnTorch's Leaky with
``reset_delay=False`` (v = beta*v + I, spike when v > threshold, reset in the same step),
with fixed-point rounding only in the leak; see frontend/nir.py for how NIR's continuous
parameters (tau, r, v_leak, v_threshold, v_reset, dt) become these integers.

Hardware (hw/rtl/lif.v): ``pe`` neurons per cycle share one datapath each; the other
neurons of the layer are time-multiplexed through it, their state in a RAM of
(neurons / pe) words.  Constants are stored once (shared), per channel or per neuron,
whichever the layer needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from ..ir.ops import Op, const
from ..ir.types import QuantSpec
from .thresholds import element_flags, element_width, signed_width, stream_geometry

MODELS = ("lif", "if", "li", "cuba")
LEAKS = ("multiply", "shift", "none")
RESETS = ("zero", "subtract", "none")
CONSTANTS = ("decay", "decay_syn", "bias", "threshold", "reset_value")


@dataclass(frozen=True, eq=False)
class Params(Op):
    model: str  # one of MODELS
    state: QuantSpec  # membrane (and synaptic current) codes: signed fixed point
    decay: np.ndarray  # int64, per neuron (right-aligned broadcast over the sample shape)
    bias: np.ndarray  # int64 membrane codes added every step
    threshold: np.ndarray  # int64 membrane codes (unused by LI)
    reset_value: np.ndarray  # int64 membrane codes (reset "zero" sets v to this)
    decay_syn: np.ndarray = None  # int64, CubaLIF's synaptic decay (None otherwise)
    leak: str = "multiply"  # one of LEAKS
    decay_bits: int = 0  # D: fraction bits of a multiplying decay
    reset: str = "zero"  # one of RESETS
    in_shift: int = 0  # input code -> membrane LSB: << in_shift (>> -in_shift, floor)
    steps: int = 0  # time steps per sample (0: the whole batch axis is one sample)
    pe: int = 1  # neurons per beat (set by folding)

    def __post_init__(self):
        for name in CONSTANTS:
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, const(v, np.int64))
        if self.model not in MODELS:
            raise InternalError(f"neuron model {self.model!r} not in {MODELS}")
        if self.leak not in LEAKS or self.reset not in RESETS:
            raise InternalError(f"neuron leak {self.leak!r} / reset {self.reset!r}")
        if (self.model == "cuba") != (self.decay_syn is not None):
            raise InternalError("decay_syn is for (and needed by) the CubaLIF model")
        if not self.state.signed or self.state.has_zero_point:
            raise InternalError(f"neuron state {self.state} must be signed, zero point 0")
        if self.leak == "multiply" and self.decay_bits < 1:
            raise InternalError("a multiplying leak needs decay_bits >= 1")

    @classmethod
    def kind(cls):
        return "lif"

    @property
    def spiking(self) -> bool:
        return self.model != "li"

    def summary(self):
        pe = f" pe{self.pe}" if self.pe > 1 else ""
        steps = f" T{self.steps}" if self.steps else ""
        return f"{self.model}[{self.state} leak:{self.leak} reset:{self.reset}{steps}{pe}]"

    def infer(self, ins):
        x = ins[0]
        if x.quant is None or x.quant.has_zero_point:
            raise InternalError(f"{self.model} neurons need integer currents, got {x}")
        for name in CONSTANTS:
            v = getattr(self, name)
            if v is not None and not _broadcasts(v.shape, x.shape):
                raise InternalError(f"{self.model}: {name} {v.shape} does not broadcast to "
                                    f"{x.name} {x.shape}")
        out = QuantSpec.for_range(0, 1, (1.0,)) if self.spiking else self.state
        return [(x.shape, out)]


def _broadcasts(shape, target) -> bool:
    if len(shape) > len(target):
        return all(d == 1 for d in shape[:len(shape) - len(target)]) and _broadcasts(
            shape[len(shape) - len(target):], target)
    return all(a in (1, b) for a, b in zip(shape[::-1], target[::-1]))


def _shift(x: np.ndarray, s: int) -> np.ndarray:
    return x << s if s >= 0 else x >> -s


def leak(v: np.ndarray, mode: str, d: np.ndarray, bits: int) -> np.ndarray:
    """The leak of state ``v`` (int64) by decay ``d``, as the hardware rounds it."""
    if mode == "multiply":
        return (v * d + (1 << (bits - 1))) >> bits
    if mode == "shift":
        return v - (v >> d)
    return v


def golden(p: Params, x: np.ndarray) -> list:
    """x (steps * samples, *shape) int64 currents, sample-major -> spikes (or LI's v)."""
    n = x.shape[0]
    steps = p.steps or n
    if steps == 0 or n % steps:
        raise InternalError(f"{p.model}: {n} frames are not whole samples of {steps} steps")
    xs = x.reshape((n // steps, steps) + x.shape[1:]).astype(np.int64)
    lo, hi = p.state.lo, p.state.hi
    drive = _shift(xs, p.in_shift) + p.bias
    v = np.zeros(xs.shape[:1] + xs.shape[2:], dtype=np.int64)
    i = np.zeros_like(v)
    out = np.empty_like(xs)
    for t in range(steps):
        d = drive[:, t]
        if p.model == "cuba":
            i = np.clip(leak(i, p.leak, p.decay_syn, p.decay_bits) + d, lo, hi)
            d = i
        v = np.clip(leak(v, p.leak, p.decay, p.decay_bits) + d, lo, hi)
        if not p.spiking:
            out[:, t] = v
            continue
        s = v > p.threshold
        out[:, t] = s
        if p.reset == "zero":
            v = np.where(s, p.reset_value, v)
        elif p.reset == "subtract":
            v = np.where(s, v - p.threshold, v)
    return [out.reshape(x.shape)]


# -- hardware ----------------------------------------------------------------------------

CELLS = ("lif.v",)
STAGES = 3  # registered input + state read, registered update, registered output


def constant_table(p: Params, x) -> tuple[int, np.ndarray]:
    """(period, rows): the per-neuron constants of the layer as the hardware stores them,
    in stream order (channels last).  The period is 1 when every neuron has the same
    constants, the channel count when they repeat per channel, else the neuron count;
    rows is (period, len(CONSTANTS)) int64, unused constants 0."""
    n = int(np.prod(x.shape, dtype=np.int64))
    cols = []
    for name in CONSTANTS:
        v = getattr(p, name)
        cols.append(np.zeros(n, np.int64) if v is None
                    else np.broadcast_to(v, x.shape).reshape(-1).astype(np.int64))
    full = np.stack(cols, axis=1)
    c = x.shape[-1] if x.shape else 1
    for period in (1, c, n):
        if n % period == 0 and bool((full.reshape(-1, period, full.shape[1]) == full[:period]).all()):
            return period, full[:period]
    return n, full  # unreachable: the neuron count is always a period


def _range_after_leak(p: Params, decays: np.ndarray) -> tuple[int, int]:
    lo, hi = p.state.lo, p.state.hi
    ends = [leak(np.array([v]), p.leak, decays, p.decay_bits) for v in (lo, hi)]
    return int(min(e.min() for e in ends)), int(max(e.max() for e in ends))


def _check_constants(p: Params, col: dict) -> None:
    """Constants the hardware holds exactly: decays in their unsigned fields, and every
    state in [lo, hi] after a reset (the state is stored at the state width): reset values
    in range, and no subtractive reset by a negative threshold (v - threshold > hi)."""
    lo, hi = p.state.lo, p.state.hi
    decays = [col["decay"]] + ([col["decay_syn"]] if p.model == "cuba" else [])
    top = (1 << p.decay_bits) if p.leak == "multiply" else None
    for d in decays if p.leak != "none" else []:
        if d.min() < 0 or (top is not None and d.max() > top):
            raise InternalError(f"{p.model}: decays [{d.min()}, {d.max()}] outside [0, "
                                f"{top if top is not None else 'inf'}] ({p.leak} leak)")
    if not p.spiking:
        return
    thr, rv = col["threshold"], col["reset_value"]
    if thr.max() > hi or thr.min() < lo - 1:
        raise InternalError(f"{p.model}: thresholds [{thr.min()}, {thr.max()}] outside the "
                            f"state range [{lo} - 1, {hi}]")
    if p.reset == "subtract" and thr.min() < 0:
        raise InternalError(f"{p.model}: a subtractive reset by the negative threshold "
                            f"{thr.min()} leaves the state range [{lo}, {hi}]")
    if p.reset == "zero" and (rv.min() < lo or rv.max() > hi):
        raise InternalError(f"{p.model}: reset values [{rv.min()}, {rv.max()}] outside the "
                            f"state range [{lo}, {hi}]")


def derive(p: Params, ins, outs) -> dict:
    """Lanes, beats per step, table geometry and the datapath widths: input code, drive
    (shifted input + bias), the sum before saturation, state and product."""
    x = ins[0]
    c, beats = stream_geometry(p.model, x, p.pe, per=None)
    period, rows = constant_table(p, x)
    if period % p.pe and period != 1:
        raise InternalError(f"{p.model}: pe={p.pe} does not divide the constant period {period}")
    n = x.size
    q = x.quant
    col = {name: rows[:, k] for k, name in enumerate(CONSTANTS)}
    xlo, xhi = _shift(np.array([q.lo, q.hi]), p.in_shift)
    dlo, dhi = int(xlo + col["bias"].min()), int(xhi + col["bias"].max())
    llo, lhi = _range_after_leak(p, col["decay"])
    if p.model == "cuba":  # i = sat(leak(i) + drive); v = sat(leak(v) + i): one width for both
        slo, shi = _range_after_leak(p, col["decay_syn"])
        sum_lo = min(slo + dlo, llo + p.state.lo)
        sum_hi = max(shi + dhi, lhi + p.state.hi)
    else:
        sum_lo, sum_hi = llo + dlo, lhi + dhi
    w = p.state.bits
    # decay fields are unsigned: d in [0, 2**D] (multiply) or a shift count (shift)
    decay_bits = (p.decay_bits + 1 if p.leak == "multiply"
                  else signed_width(0, int(rows[:, [0, 1]].max(initial=1))) - 1 if p.leak == "shift"
                  else 1)
    blo, bhi = int(col["bias"].min()), int(col["bias"].max())
    _check_constants(p, col)
    thr = col["threshold"] if p.spiking else np.zeros(1, np.int64)
    decays = rows[:, [0, 1]] if p.model == "cuba" else rows[:, [0]]
    no_leak = p.leak == "none" or (p.leak == "multiply" and bool((decays == 1 << p.decay_bits).all()))
    return {"in_lanes": [p.pe], "out_lanes": [p.pe], "neurons": n, "channels": c,
            "frame_beats": beats, "cycles": beats, "pipeline_cycles": STAGES,
            "steps": p.steps, "period": period, "rows": max(1, period // p.pe),
            "shared": period == 1, "state_words": beats, "state_bits": w,
            "state_words_bits": p.pe * w * (2 if p.model == "cuba" else 1),
            "in_bits": q.bits, "x_bits": element_width(q), "in_shift": p.in_shift,
            "drive_bits": signed_width(min(dlo, 0), max(dhi, 0)),
            "sum_bits": signed_width(sum_lo, sum_hi), "decay_bits": decay_bits,
            "no_leak": no_leak, "prod_bits": w + decay_bits + 1,
            "bias_bits": signed_width(min(blo, 0), max(bhi, 0)),
            "threshold_bits": signed_width(min(p.state.lo, int(thr.min())),
                                           max(p.state.hi, int(thr.max()))),
            "out_bits": 1 if p.spiking else w, "synapses": 0}


def context(p: Params, ins, outs) -> dict:
    d = derive(p, ins, outs)
    x = ins[0]
    _, rows = constant_table(p, x)  # shared: one row for every lane; else row g*pe + lane
    table = {name: rows[:, k].tolist() for k, name in enumerate(CONSTANTS)}
    return {**d, "pe": p.pe, "in": element_flags(x.quant), "model": p.model,
            "model_id": MODELS.index(p.model), "leak_id": LEAKS.index(p.leak),
            "reset_id": RESETS.index(p.reset), "leak_mode": p.leak, "reset_mode": p.reset,
            "decay_frac": p.decay_bits, "state_lo": p.state.lo, "state_hi": p.state.hi,
            "in_width": p.pe * x.quant.bits, "out_width": p.pe * d["out_bits"], **table}


def resources(p: Params, d: dict, part):
    """LUT, FF, DSP, BRAM and carry cells of this layer after yosys synth_xilinx.

    Per lane: the leak (a multiplier on the DSP rule, a subtract-shift, or nothing),
    the drive and state adders, the saturation and threshold compares and the reset
    select; the state RAM (LUT-RAM or block RAM by size) and the constant table."""
    from ..estimate import primitives as pr
    from ..estimate.resources import Cost
    from .thresholds import stream_control

    w, sb = d["state_bits"], d["sum_bits"]
    states = 2 if p.model == "cuba" else 1
    lane = Cost()
    for _ in range(states):
        if not d["no_leak"]:
            if p.leak == "multiply":
                lane = lane + pr.multiplier(w, d["decay_bits"], part.dsp_widths)
            else:
                lane = lane + pr.adder(w) + Cost(LUT=w)  # the variable shift
        lane = lane + pr.adder(sb) + pr.adder(sb) + Cost(LUT=w) + pr.reg(w)  # drive, sum, clamp
    lane = lane + pr.adder(d["drive_bits"]) + pr.reg(d["x_bits"])
    if p.spiking:
        lane = lane + pr.comparator(w) + Cost(LUT=w)  # v > threshold, the reset select
    lane = lane + pr.reg(d["out_bits"])
    state = pr.ram(d["state_words"], d["state_words_bits"]) if d["state_words"] > 1 else \
        pr.reg(d["state_words_bits"])
    table_bits = p.pe * (d["decay_bits"] * states + d["bias_bits"] + 2 * w)
    table = Cost() if d["shared"] else pr.rom(d["rows"], table_bits)
    step = pr.counter(max(2, d["steps"])) if d["steps"] else Cost()
    return lane * p.pe + state + table + step + stream_control(d["frame_beats"], d["rows"], STAGES)
