"""cmvm's output stage: a requantizer folded into the pipeline (issue #9), y = clip((acc * M +
B) >> s, lo, hi) by shift-adds over the CSD digits of M and a clamp, exact on every
accumulator value a row can reach (``stage()``, ``truncation()``); its packed fields for
hw/rtl/cmvm.v (``stage_fields()``) and its cells (``stage_resources()``).  ``p`` is a
cmvm.Params with out_spec set."""

from __future__ import annotations

import math

import numpy as np

from .adder_trees import adder_counts, adder_low, csd, node_field, row_slots, signed_bits, tree, tree_counts

# the stage truncates its digits only where the root takes at most this many values (each
# one is checked): the jet MLP's 16-bit accumulators, not a wide layer's
TRUNCATE_RANGE = 1 << 20


def row_ranges(w: np.ndarray, xlo: int, xhi: int) -> list:
    """The exact (lo, hi) of every row's sum_k xs[k] * w[n, k] over xs[k] in [xlo, xhi]."""
    lo = np.minimum(w * xlo, w * xhi).sum(axis=1)
    hi = np.maximum(w * xlo, w * xhi).sum(axis=1)
    return list(zip((int(v) for v in lo), (int(v) for v in hi)))


def stage(p, roots: list, neg_root: list) -> tuple:
    """(derive()'s keys, rows): the output stage's program and exact widths.  Per row n, on the
    tree's root r (= acc, or -acc when neg_root[n]; range roots[n]) with M' = +-M[n]:

      * flip = M' < 0: the stage computes v = r * |M'| + C with C = B, or -B - 1 when
        flipped, since floor((r*M' + B) / 2**s) = ~floor((r*|M'| - B - 1) / 2**s): the
        negation is the bitwise NOT of the shifted result (free in the clamp's LUTs);
      * the common factor 2**k (k = min(s, trailing zeros of |M'|)) is taken out of M, C
        and s (C's dropped low bits never carry into the kept ones): row shift s - k;
      * slots: |M|'s CSD digits (r << e, negative ones subtracted), positives first (the
        tree's sign rule: a node carries its leftmost slot's sign, slot 0 is positive),
        then the constant C when nonzero; a row whose sum is always 0 has no digits;
      * z = v >> s (wires), u = flip ? ~z : z, y = u < lo ? lo : u > hi ? hi : u, at
        the clamp's compare bits (u's range with lo and hi, signed).
    Every node's exact range is r * m + c over the root's range (linear in r), so its
    bits are exact."""
    spec, s = p.out_spec, p.out_shift
    rows = []
    for n, ((rlo, rhi), ng) in enumerate(zip(roots, neg_root)):
        m = -p.out_mult[n] if ng else p.out_mult[n]
        b = p.out_bias[n]
        flip = m < 0 and (rlo, rhi) != (0, 0)
        m, c = (-m, -b - 1) if flip else (m, b)
        if (rlo, rhi) == (0, 0):
            m = 0
        k = min(s, (m & -m).bit_length() - 1) if m else s
        m, c, sh = m >> k, c >> k, s - k
        digits = sorted(csd(m), key=lambda t: t[1] < 0)
        rr, dd = None, 0
        if m and rhi - rlo < TRUNCATE_RANGE:
            rr = np.arange(rlo, rhi + 1, dtype=np.int64)
            dd, c = truncation(rr, digits, c, sh, flip, spec)
        slots = [(e, int(d < 0), 0) for e, d in digits] + ([(0, 0, 1)] if c else [])
        rows.append({"flip": flip, "m": m, "c": c, "s": sh - dd, "d": dd, "slots": slots,
                     "r": (rlo, rhi), "rr": rr})
    t = max(1, *(len(r["slots"]) for r in rows))
    lo_out, hi_out, ob = spec.lo, spec.hi, spec.bits
    for r in rows:
        slots = row_slots(r["slots"], t, p.arity)
        # a slot's stored value as (a, c): a * root + c
        lin = [(0, 0) if sl is None else (0, r["c"]) if sl[2] else (1 << sl[0], 0)
               for sl in slots]
        negs = [0 if sl is None else sl[1] for sl in slots]
        rlo, rhi = r["r"]

        def srange(a, b, lin=lin, negs=negs, rlo=rlo, rhi=rhi):
            m = sum(lin[j][0] * (-1 if negs[j] else 1) for j in range(a, b + 1))
            c = sum(lin[j][1] * (-1 if negs[j] else 1) for j in range(a, b + 1))
            return tuple(sorted((m * rlo + c, m * rhi + c)))
        if r["d"]:  # truncated digits: not linear in the root, ranges by evaluation
            vals = [np.zeros(1, np.int64) if sl is None else np.full(1, r["c"]) if sl[2] else
                    (r["rr"] << sl[0]) >> r["d"] for sl in slots]
            signed = [-v if ng else v for v, ng in zip(vals, negs)]

            def srange(a, b, signed=signed):  # noqa: F811 (the truncated case's)
                v = sum(signed[a:b + 1])
                return int(np.min(v)), int(np.max(v))
            leaves = [(int(v.min()), int(v.max())) for v in vals]
        else:
            leaves = [tuple(sorted((a * rlo + c, a * rhi + c))) for a, c in lin]
        tz = [None if sl is None else
              ((r["c"] & -r["c"]).bit_length() - 1 if sl[2] else max(0, sl[0] - r["d"]), sl[1])
              for sl in slots]
        levels = tree(p.arity, tz, srange)
        top = levels[-1][0] if levels else None
        root = (top["lo"], top["hi"]) if top else leaves[0]
        z = (root[0] >> r["s"], root[1] >> r["s"])
        u = (-z[1] - 1, -z[0] - 1) if r["flip"] else z
        r.update(spread=slots, levels=levels, leaves=leaves, u=u, clo=int(u[0] < lo_out),
                 chi=int(u[1] > hi_out),
                 cb=max(ob, signed_bits(min(u[0], lo_out), max(u[1], hi_out))))
    rw = max([signed_bits(lo, hi) for r in rows for lo, hi in r["leaves"]]
             + [nd["bits"] for r in rows for lv in r["levels"] for nd in lv if nd]
             + [r["s"] + r["cb"] for r in rows])
    rq_tree = len(tree_counts(t, p.arity)) - 1
    add = [adder_counts(len(r["slots"]), t, p.arity) for r in rows]
    return {"requant": 1, "out_bits": ob, "out_signed": bool(spec.signed),
            "out_lo": int(lo_out), "out_hi": int(hi_out),
            "rq_slots": t, "rq_tree": rq_tree, "rq_levels": rq_tree + 1, "rq_width": rw,
            "rq_digits": [len(r["slots"]) - int(bool(r["c"])) for r in rows],
            "rq_adders": sum(a for a, _ in add), "rq_adders3": sum(a for _, a in add),
            "rq_clamps": sum(r["clo"] + r["chi"] for r in rows)}, rows


def truncation(rr: np.ndarray, digits: list, c: int, s: int, flip: bool, spec) -> tuple:
    """(d, C'): the most low bits d <= s the stage can drop from each digit's product and
    still give the exact outputs on every root value ``rr``: with slots floor((r << e) / 2**d)
    (negative digits subtracted) and the constant C', y = clip(+-((sum + C') >> (s - d))).
    The dropped bits only carry into the kept ones, which C' makes up for where it can.
    For each r the exact output allows an interval of sums (the output is monotone in the
    sum), so C' exists when those intervals, less the truncated digits' sums, meet; the
    one nearest C >> d is taken.  d = 0 is the exact stage."""
    big = 1 << 62
    v = sum(-(rr << e) if dg < 0 else rr << e for e, dg in digits) + c
    z = v >> s
    y = np.clip(-z - 1 if flip else z, spec.lo, spec.hi)
    # the interval of z = sum >> s giving y: y itself, or beyond a bound it saturates at
    zlo = np.where(y == (spec.hi if flip else spec.lo), -big, -y - 1 if flip else y)
    zhi = np.where(y == (spec.lo if flip else spec.hi), big, -y - 1 if flip else y)
    for d in range(s, 0, -1):
        base = sum(-((rr << e) >> d) if dg < 0 else (rr << e) >> d for e, dg in digits)
        sh = s - d
        lo = np.max(np.where(zlo == -big, -big, zlo << sh) - base)
        hi = np.min(np.where(zhi == big, big, ((zhi + 1) << sh) - 1) - base)
        if lo <= hi:
            return d, int(min(max(c >> d, lo), hi))
    return 0, c


def stage_fields(d: dict, rows: list) -> dict:
    """The output stage as packed parameter fields (hw/rtl/cmvm.v's RQ_*): slot (n, t) at
    index n * rq_slots + t of rq_shift (rq_sh_bits), rq_neg, rq_used, rq_const (1 bit);
    per row rq_c (rq_width bits, two's complement), rq_s (rq_s_bits), rq_flip, rq_clo,
    rq_chi (1 bit), rq_cb (rq_nb_bits); per row and node rq_node_bits and rq_node_lo
    (rq_nb_bits), rq_node_args and rq_node_sub (2 bits), as node_fields() (the slots and
    passing nodes at rq_width, 0); out_lo/out_hi at rq_cb_max bits.  Zero fields without a
    stage."""
    if not d["requant"]:
        return {"rq_slots": 1, "rq_width": 1, "out_bits": d["acc_bits"], "rq_sh_bits": 1,
                "rq_shift": [0], "rq_neg": [0], "rq_used": [0], "rq_const": [0],
                "rq_c": [0], "rq_s_bits": 1, "rq_s": [0], "rq_d": [0], "rq_flip": [0],
                "rq_clo": [0], "rq_chi": [0], "rq_nb_bits": 1, "rq_cb": [0], "rq_cb_max": 1,
                "out_lo": 0, "out_hi": 0, "rq_nodes": 1, "rq_node_bits": [0],
                "rq_node_lo": [0], "rq_node_args": [0], "rq_node_sub": [0]}
    t, rw = d["rq_slots"], d["rq_width"]
    f = {"shift": [], "neg": [], "used": [], "const": []}
    for r in rows:
        for sl in r["spread"]:
            f["shift"].append(sl[0] if sl else 0)
            f["neg"].append(sl[1] if sl else 0)
            f["used"].append(int(sl is not None))
            f["const"].append(sl[2] if sl else 0)
    nodes = []
    for r in rows:
        nodes += [(rw, 0, 0, 0)] * t + [node_field(nd, rw) for lv in r["levels"] for nd in lv]
    node_w, node_lo, node_args, node_sub = (list(f) for f in zip(*nodes))
    return {"rq_sh_bits": max(1, max(f["shift"] + [r["d"] for r in rows]).bit_length()),
            "rq_shift": f["shift"], "rq_neg": f["neg"], "rq_used": f["used"],
            "rq_const": f["const"], "rq_c": [r["c"] for r in rows],
            "rq_s_bits": max(1, max(r["s"] for r in rows).bit_length()),
            "rq_s": [r["s"] for r in rows], "rq_d": [r["d"] for r in rows],
            "rq_flip": [int(r["flip"]) for r in rows],
            "rq_clo": [r["clo"] for r in rows], "rq_chi": [r["chi"] for r in rows],
            "rq_nb_bits": rw.bit_length(), "rq_cb": [r["cb"] for r in rows],
            "rq_cb_max": max(r["cb"] for r in rows), "rq_nodes": len(node_w) // len(rows),
            "rq_node_bits": node_w, "rq_node_lo": node_lo, "rq_node_args": node_args,
            "rq_node_sub": node_sub}


def stage_resources(p, d: dict):
    """The output stage's cells, from its tree per row: an adder spans its node's bits
    less the larger trailing zeros of its operands (a digit's: its shift) and, with the
    constant as an operand, is a LUT per one bit of the constant in that span (the others
    are wires into the carry chain); a register keeps a node's bits less its variable
    trailing zeros (the constant's low bits are constant flip-flops, removed), the
    stage's root only the compare bits (the shifted-out bits and the sign copies go); a
    compare with a constant per bound reached (yosys's cmp2lcu: a LUT per 3 bits), the
    select (a LUT per output bit) and the output register (out_bits)."""
    from ..estimate import primitives as pr
    from ..estimate.resources import Cost

    roots = [(-h, -lo) if ng else (lo, h) for (lo, h), ng in
             zip(row_ranges(p.weight, d["xs_lo"], d["xs_hi"]), d["neg_root"])]
    rows = stage(p, roots, d["neg_root"])[1]
    base, dep, levels = d["levels"] - d["rq_levels"], d["depth"], d["levels"]
    big = d["rq_width"] + 1  # "no variable bit": the constant's variable trailing zeros
    luts = carry = regs = 0
    for r in rows:
        c = r["c"]
        # the constant's slot, and every slot's variable trailing zeros
        ci = next((i for i, sl in enumerate(r["spread"]) if sl and sl[2]), None)
        vtz = [big if sl is None or sl[2] else max(0, sl[0] - r["d"]) for sl in r["spread"]]

        def const(nd, ci=ci):
            return nd["first"] == nd["last"] == ci
        for lvl, lv in enumerate(r["levels"], 1):
            for nd in lv:
                if nd is None or nd["args"] < 2:
                    continue
                w, lo = nd["bits"], adder_low(nd)
                span = max(1, w - lo)
                # a binary adder with the constant: a LUT per one bit of it (the others
                # are wires into the carry chain); add3 has it in its tables, a LUT a bit
                luts += (bin((c % (1 << w)) >> lo).count("1") if nd["args"] == 2
                         and any(const(ch) for ch in nd["subs"]) else span)
                carry += math.ceil(span / 4)
            if (base + lvl) % dep == 0 and base + lvl < levels:
                if lvl == d["rq_tree"]:
                    regs += r["cb"] if lv[0] and not const(lv[0]) else 0
                else:
                    regs += sum(max(1, nd["bits"] - min(vtz[nd["first"]:nd["last"] + 1]))
                                for nd in lv if nd is not None and not const(nd))
        luts += math.ceil(r["cb"] / 3) * (r["clo"] + r["chi"]) + d["out_bits"]
    return Cost(LUT=luts, CARRY4=carry) + pr.reg(regs + d["out_bits"] * d["rows"])
