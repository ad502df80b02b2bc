"""Multi-threshold activation unit: out = base + #{k : x' >= T[c, k]}, x' = +-x per channel.

The integer thresholds replace a float chain (bias, batch norm, scale, activation)
and its quantizer; they are derived from that chain's own evaluation (passes/
absorb_scales.py), so the unit computes exactly what the model did.

Hardware (hw/rtl/thresholds.v): PE lanes per beat, one comparator per threshold per
lane, thresholds as constants or a ROM word per group of PE channels; one beat per
cycle.  Per-channel thresholds need the channel axis last (channels-last streams);
shared ones work on any axis.  A bipolar output (one bit, bit = (code+1)/2) is computed
from one threshold per channel, derived here from rows that only yield -1/+1.
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass

import numpy as np

from ..errors import InternalError
from ..ir.ops import Op, const
from ..ir.types import QuantSpec, bits_for_range


@dataclass(frozen=True, eq=False)
class Params(Op):
    thresholds: np.ndarray  # int64 (C, T), ascending per row; C == 1: shared by all channels
    negate: np.ndarray  # bool (C,): compare -x instead of x
    base: int  # output code when no threshold is reached
    spec: QuantSpec  # output codes
    axis: int  # channel axis of the per-sample tensor
    pe: int = 1  # lanes per beat (set by folding); divides the channel count

    def __post_init__(self):
        object.__setattr__(self, "thresholds", const(self.thresholds, np.int64))
        object.__setattr__(self, "negate", const(self.negate, bool))

    @classmethod
    def kind(cls):
        return "thresholds"

    def summary(self):
        c, t = self.thresholds.shape
        pe = f" pe{self.pe}" if self.pe > 1 else ""
        return f"thresholds[{c}x{t} -> {self.spec}{pe}]"

    def infer(self, ins):
        shape = ins[0].shape
        c = self.thresholds.shape[0]
        if ins[0].quant is None or (c != 1 and shape[self.axis] != c):
            raise InternalError(f"thresholds for {c} channels on {ins[0]}")
        return [(shape, self.spec)]


def golden(p: Params, x: np.ndarray) -> np.ndarray:
    xc = np.moveaxis(x, p.axis + 1, -1)
    xc = np.where(p.negate, -xc, xc)[..., None]
    count = (xc >= p.thresholds).sum(axis=-1, dtype=np.int64)
    return [np.moveaxis(count + p.base, -1, p.axis + 1)]


# -- stream helpers shared by the elementwise units (thresholds, requant, add, argmax) ----

def signed_width(lo: int, hi: int) -> int:
    """Bits of the two's complement type holding every integer of [lo, hi] (at least 2)."""
    return max(2, bits_for_range(min(int(lo), -1), max(int(hi), 0))[0])


def element_width(q: QuantSpec) -> int:
    """Signed width a cell extends an input element of type ``q`` to: it holds the code
    range and is at least the element's own width (+1 when unsigned), so cells only
    ever sign-, zero- or bipolar-extend."""
    if q.bipolar:
        return 2
    return max(signed_width(q.lo, q.hi), q.bits + (0 if q.signed else 1))


def element_flags(q: QuantSpec) -> dict:
    """How a cell reads elements of type ``q``: bits, signedness, bipolar (as 0/1)."""
    return {"bits": q.bits, "signed": int(q.signed), "bipolar": int(q.bipolar)}


def stream_geometry(kind: str, t, pe: int, per: int | None = None) -> tuple[int, int]:
    """(channels, beats per frame) of tensor ``t`` streamed in ``pe`` lanes; ``pe`` must
    divide the last dimension (``per`` when given)."""
    c = t.shape[-1] if t.shape else 1
    per = c if per is None else per
    if not isinstance(pe, (int, np.integer)) or pe < 1 or per % pe:
        raise InternalError(f"{kind}: pe={pe} does not divide the {per} elements of the last "
                            f"axis of {t.name} {t.shape}")
    return c, t.size // int(pe)


def pack(values, bits: int) -> int:
    """One integer of ``values`` as ``bits``-bit two's complement fields, element 0 lowest."""
    mask = (1 << bits) - 1
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & mask) << (i * bits)
    return word


def channel_rows(kind: str, rows: np.ndarray, axis: int, t) -> np.ndarray:
    """Per-channel constant rows (first dimension: 1 or C) as the hardware stores them:
    one row when every row is equal (shared), else C rows along the last axis."""
    if rows.shape[0] == 1 or bool((rows == rows[:1]).all()):
        return rows[:1]
    if axis % len(t.shape) != len(t.shape) - 1:
        raise InternalError(f"{kind}: per-channel constants on axis {axis} of {t.name} "
                            f"{t.shape}; the hardware needs the channel axis last "
                            "(channels-last) or constants shared by all channels")
    if rows.shape[0] != t.shape[-1]:
        raise InternalError(f"{kind}: {rows.shape[0]} channel rows for {t.name} {t.shape}")
    return rows


# -- hardware ----------------------------------------------------------------------------

CELLS = ("thresholds.v",)
# pipeline registers; first input beat to last output beat = cycles + STAGES
STAGES = 3  # registered input, registered compares, registered output code


_TABLES: dict = {}  # the tables of constant threshold arrays (the folding pass asks often)


def _table(p: Params, x, y) -> tuple[np.ndarray, np.ndarray, list]:
    """(thresholds (R, T) int64, negate (R,) bool, output code of each count 0..T) as the
    hardware compares them; R == 1 when every channel has the same row.

    Thresholds are clipped to [min x', max x' + 1] of their channel (same counts on every
    reachable input, narrower compares); a bipolar output gets its one-threshold form.
    The result depends on the arrays, base, axis and the tensors, not on the lanes: it is
    remembered for as long as the op's (read-only) arrays live."""
    key = (id(p.thresholds), id(p.negate), p.base, p.axis, x.shape, x.quant, y.quant)
    hit = _TABLES.get(key)
    if hit is not None and hit[0]() is p.thresholds and hit[1]() is p.negate:
        return hit[2]
    got = _make_table(p, x, y)
    for arr in got[:2]:
        arr.setflags(write=False)  # shared by every caller
    drop = lambda _, k=key: _TABLES.pop(k, None)  # noqa: E731
    _TABLES[key] = (weakref.ref(p.thresholds, drop), weakref.ref(p.negate, drop), got)
    return got


def _make_table(p: Params, x, y) -> tuple[np.ndarray, np.ndarray, list]:
    q = x.quant
    T, neg = p.thresholds, p.negate.reshape(-1)
    n = max(T.shape[0], neg.size)
    if T.shape[0] not in (1, n) or neg.size not in (1, n):
        raise InternalError(f"thresholds: {T.shape[0]} threshold rows and {neg.size} negate "
                            f"flags on {x.name} {x.shape}")
    rows = np.concatenate([np.broadcast_to(T, (n, T.shape[1])),
                           np.broadcast_to(neg, (n,))[:, None].astype(np.int64)], axis=1)
    rows = channel_rows("thresholds", rows, p.axis, x)
    T, neg = rows[:, :-1], rows[:, -1].astype(bool)
    if np.any(np.diff(T, axis=1) < 0):
        raise InternalError(f"thresholds on {x.name}: rows are not ascending")
    xlo = np.where(neg, -q.hi, q.lo)
    xhi = np.where(neg, -q.lo, q.hi)
    T = np.clip(T, xlo[:, None], xhi[:, None] + 1)
    if y.quant.bipolar:
        one = np.empty(len(T), np.int64)
        for r, row in enumerate(T):
            points = np.unique(np.concatenate([[xlo[r]], row[row <= xhi[r]]]))
            codes = p.base + (row[None, :] <= points[:, None]).sum(axis=1)
            bad = sorted(set(codes.tolist()) - {-1, 1})
            if bad:
                raise InternalError(f"thresholds on {x.name}: row {r} gives codes {bad} for the "
                                    "bipolar output (only -1/+1 allowed)")
            plus = points[codes == 1]
            one[r] = plus[0] if plus.size else xhi[r] + 1
        return one[:, None], neg, [0, 1]
    if T.shape[1] == 0:  # constant output: one always-true compare
        return xlo[:, None], neg, [p.base, p.base]
    return T, neg, [p.base + m for m in range(T.shape[1] + 1)]


def derive(p: Params, ins, outs) -> dict:
    """Lanes, beats per frame, compare width, threshold count and output bits."""
    x, y = ins[0], outs[0]
    c, beats = stream_geometry("thresholds", x, p.pe)
    T, neg, _ = _table(p, x, y)
    q = x.quant
    xlo, xhi = np.where(neg, -q.hi, q.lo), np.where(neg, -q.lo, q.hi)
    cmp_bits = max(element_width(q), signed_width(min(T.min(), xlo.min()),
                                                  max(T.max(), xhi.max())))
    shared = T.shape[0] == 1
    groups = 1 if shared else c // p.pe
    rows = 1 if shared else p.pe
    word_bits = rows * T.shape[1] * cmp_bits
    return {"in_lanes": [p.pe], "out_lanes": [p.pe], "channels": c, "shared": shared,
            "groups": groups, "frame_beats": beats, "cycles": beats,
            "pipeline_cycles": STAGES, "cmp_bits": cmp_bits, "steps": T.shape[1],
            "comparators": p.pe * T.shape[1], "out_bits": y.quant.bits,
            "word_bits": word_bits, "threshold_bits": groups * word_bits,
            "compare_terms": _compare_terms(T, rows, cmp_bits)}


def context(p: Params, ins, outs) -> dict:
    d = derive(p, ins, outs)
    x, y = ins[0], outs[0]
    T, neg, codes = _table(p, x, y)
    rows = 1 if d["shared"] else p.pe
    words = [pack(T[g * rows:(g + 1) * rows].reshape(-1), d["cmp_bits"])
             for g in range(d["groups"])]
    return {**d, "pe": p.pe, "in": element_flags(x.quant),
            "in_width": p.pe * x.quant.bits, "out_width": p.pe * y.quant.bits,
            "words": words, "table": T.tolist(), "negate": neg.astype(int).tolist(), "codes": codes,
            "mems": {"thresholds": (d["word_bits"], words)}}


def resources(p: Params, d: dict, part):
    """LUT, FF, DSP, BRAM and carry cells of this layer after yosys synth_xilinx.

    yosys maps every ``x' >= T[k]`` with cmp2lcu before the table is known constant: a
    carry-chain position per 3 bits from the top (its propagate and generate, a LUT
    each), a CARRY4 per 4 positions.  Once the table is read, a position's two LUTs
    are functions of 3 bits of x' and of the table's bits there, and every compare of
    the lane with the same bits there shares them: the LUTs follow the distinct
    (lane, position, table bits) terms of the table (``_compare_terms``), not the
    comparator count.  A per-channel table is a ROM (``memory.rom``: logic or block
    RAM) read into a register; in logic, yosys keeps one LUT and read flip-flop per
    distinct non-constant bit column (a column: one bit of one threshold over the
    groups; opt_merge joins equal ones, a constant one is a constant), counted from the
    table (``_live_columns``).  The thermometer-to-code select ORs, per output bit, the
    (steps+1)/2 edges setting it."""
    from ..estimate import primitives as pr
    from ..estimate.resources import Cost

    pe, steps, w = p.pe, d["steps"], d["cmp_bits"]
    pos = -(-w // 3)  # carry-chain positions of one compare
    const, live = d["compare_terms"]
    compares = (CONST_TERM_LUTS * const + LIVE_TERM_LUTS * live) * (pe if d["shared"] else 1)
    lane = Cost(LUT=_code_luts(steps, d["out_bits"]), FF=w + steps + d["out_bits"],
                CARRY4=steps * -(-pos // 4))
    if not d["shared"] and bool(np.any(p.negate)):
        lane = lane + pr.adder(w) + Cost(LUT=w / 2)  # -x and the select of x or -x
    out = lane * pe + Cost(LUT=compares) + stream_control(d["frame_beats"], d["groups"], STAGES)
    if not d["shared"]:  # the table, and its read and group logic (measured: 12 LUTs)
        out = out + _rom(p, d) + Cost(LUT=12)
        if bool(np.any(p.negate)):
            out = out + pr.mux(d["groups"], pe)  # the negate bits of the group
    return out


# LUTs per distinct compare term (``_compare_terms``), measured against yosys on the
# fixtures' and the estimate tests' thresholds layers (bench/bench_calibration.py): a
# term of constant bits is its propagate and generate LUTs; one reading table columns
# costs a quarter more (ABC duplicates some of its inputs' shared logic)
CONST_TERM_LUTS = 2.0
LIVE_TERM_LUTS = 2.5


def _compare_terms(T: np.ndarray, rows: int, w: int) -> tuple[int, int]:
    """(constant, table-reading) distinct compare terms of the ``rows`` lanes of table
    ``T`` (word g: rows g*rows .. g*rows+rows-1): a term is one carry-chain position
    (3 bits, counted from the top as cmp2lcu does) of one lane, by the table's bit
    columns there (a column: one bit of one threshold over the words; constant, or
    equal to another)."""
    return _terms(np.ascontiguousarray(T, np.int64).tobytes(), T.shape[0] // rows, rows,
                  T.shape[1], w)


@functools.lru_cache(maxsize=512)
def _terms(table: bytes, groups: int, rows: int, steps: int, w: int) -> tuple[int, int]:
    """(memoized: folding asks once per lane count of a layer)"""
    a = np.frombuffer(table, np.int64).reshape(groups, rows, steps) & ((1 << w) - 1)
    bits = ((a[..., None] >> np.arange(w)) & 1).astype(np.uint8)  # word, lane, k, bit
    const = bits.all(axis=0) | ~bits.any(axis=0)  # lane, k, bit
    ids = _column_ids(bits.reshape(groups, -1)).reshape(rows, steps, w)
    pad = -w % 3  # the lowest position has the bits left over: pad below with a constant
    ids = np.concatenate([np.zeros((rows, steps, pad), np.int64), ids], axis=2)
    const = np.concatenate([np.ones((rows, steps, pad), bool), const], axis=2)
    pos = ids.shape[2] // 3
    ids = ids.reshape(rows, steps, pos, 3)
    n = int(ids.max()) + 1  # a position's three column ids as one number, then its place
    trio = np.unique(ids[..., 0] * n + ids[..., 1], return_inverse=True)[1].reshape(ids.shape[:3])
    trio = np.unique(trio * n + ids[..., 2], return_inverse=True)[1].reshape(ids.shape[:3])
    place = (np.arange(rows)[:, None, None] * pos + np.arange(pos)[None, None, :])
    keys = (place * (int(trio.max()) + 1) + trio).reshape(-1)
    fixed = const.reshape(rows, steps, pos, 3).all(axis=3).reshape(-1)
    first = np.unique(keys, return_index=True)[1]
    n_const = int(fixed[first].sum())
    return n_const, len(first) - n_const


def _column_ids(cols: np.ndarray) -> np.ndarray:
    """An id per column of ``cols`` (words x columns of 0/1), equal for equal columns."""
    if cols.shape[0] <= 62:
        key = (cols.T.astype(np.int64) << np.arange(cols.shape[0])).sum(axis=1)
    else:
        packed = np.ascontiguousarray(np.packbits(cols, axis=0).T)
        key = packed.view(np.dtype((np.void, packed.shape[1]))).reshape(-1)
    return np.unique(key, return_inverse=True)[1].reshape(-1).astype(np.int64)


def _rom(p: Params, d: dict):
    """The threshold table: ``memory.rom`` when yosys puts it in block RAM; in logic, a
    LUT (``memory``'s logic-ROM LUTs per bit) and a read flip-flop per live column."""
    from ..estimate import memory
    from ..estimate.resources import Cost

    depth, bits = d["groups"], d["word_bits"]
    if memory.rom_kind(depth, bits) != "logic":
        return memory.rom_cost(depth, bits)
    live = _live_columns(p, d)
    one = memory.rom_cost(depth, 1)
    return Cost(LUT=one.LUT * live, FF=live)


def _live_columns(p: Params, d: dict) -> int:
    """Distinct non-constant bit columns of the table as the cell stores it (word g: rows
    g*PE .. g*PE+PE-1; a column is one bit over the ``groups`` words).  Without the
    hardware's table (a bipolar output's one-threshold form) every column counts; a
    table of at most 4 words has at most 2**groups - 2 non-constant columns."""
    groups, bits, w = d["groups"], d["word_bits"], d["cmp_bits"]
    T = p.thresholds
    if T.shape != (d["channels"], d["steps"]) or groups * bits != T.size * w:
        return min(bits, 2 ** groups - 2) if groups <= 6 else bits
    return _distinct_columns(T.tobytes(), groups, T.size // groups, w)


@functools.lru_cache(maxsize=256)
def _distinct_columns(table: bytes, groups: int, fields: int, w: int) -> int:
    """(memoized: the table is the same for every folding of a layer)"""
    a = np.frombuffer(table, np.int64).reshape(groups, fields) & ((1 << w) - 1)
    cols = ((a[:, :, None] >> np.arange(w)) & 1).astype(np.uint8).reshape(groups, -1)
    keep = cols.any(axis=0) & ~cols.all(axis=0)
    return len(np.unique(_column_ids(cols[:, keep]))) if keep.any() else 0


def _code_luts(steps: int, out_bits: int) -> float:
    """The output code of a ``steps``-long thermometer: per output bit an OR of about
    (steps+1)/2 two-input edge terms, three to a LUT6 (measured 1.05 for the tree)."""
    if steps <= 1:
        return 0.0
    return 1.05 * out_bits * (steps + 1) / 6


def stream_control(frame_beats: int, groups: int, stages: int):
    """The flow control every elementwise cell has: a valid and a tlast register per
    stage with their enables, a beat-in-frame counter and a channel-group counter."""
    from ..estimate import primitives as pr
    from ..estimate.resources import Cost

    return (Cost(LUT=stages + 2, FF=2 * stages) + pr.counter(frame_beats)
            + pr.counter(groups))
