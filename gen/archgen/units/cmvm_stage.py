"""cmvm's output stage: a requantizer folded into the pipeline (issue #9), y = clip((acc * M +
B) >> s, lo, hi) by shift-adds over the CSD digits of M and a clamp decided by compares
on the accumulator (``_flags()``), exact on every accumulator value a row can reach
(``stage()``, ``truncation()``); its packed fields for hw/rtl/cmvm.v (``stage_fields()``)
and its cells (``stage_resources()``).  ``p`` is a cmvm.Params with out_spec set."""

from __future__ import annotations

import math

import numpy as np

from .adder_trees import adder_counts, adder_low, csd, node_field, row_slots, tree, tree_counts

# the stage truncates its digits only where the root takes at most this many values (each
# one is checked): the jet MLP's 16-bit accumulators, not a wide layer's
TRUNCATE_RANGE = 1 << 20


def row_ranges(w: np.ndarray, xlo: int, xhi: int) -> list:
    """The exact (lo, hi) of every row's sum_k xs[k] * w[n, k] over xs[k] in [xlo, xhi]."""
    lo = np.minimum(w * xlo, w * xhi).sum(axis=1)
    hi = np.maximum(w * xlo, w * xhi).sum(axis=1)
    return list(zip((int(v) for v in lo), (int(v) for v in hi)))


def first_at(k: int, m: int, c: int, sh: int) -> int:
    """The smallest integer r with (r * m + c) >> sh >= k (m > 0)."""
    return -((c - (k << sh)) // m)


def round_threshold(a: int, b: int) -> int:
    """The integer of [a, b] (a <= b) with the most trailing zeros: its compare reads the
    fewest bits."""
    if a <= 0 <= b:
        return 0
    for j in range(max(abs(a), abs(b)).bit_length(), 0, -1):
        t = -((-a) >> j) << j  # the first multiple of 2**j at or above a
        if t <= b:
            return t
    return a


def _flags(m: int, c: int, sh: int, flip: bool, spec, rlo: int, rhi: int) -> tuple:
    """((clo, tlo), (chi, thi), window): the clamp's compares on the root r, as
    hw/rtl/cmvm.v's stage makes them, below = clo & ((r < tlo) ^ flip) and above = chi &
    ((r < thi) ^ !flip), for u = +-((r * m + c) >> sh) (m > 0; the unclamped output,
    increasing in r, or decreasing when flip): below where u < lo, above where u > hi,
    either way where u is that bound (the threshold with the most trailing zeros is
    taken), never elsewhere; a compare exists (clo, chi) only where its bound is passed.
    window: the (first, last) root neither flag covers (first > last: none), where the
    stage's arithmetic must give u exactly."""
    lo, hi = spec.lo, spec.hi

    def pick(a, b):  # a threshold for "r < t" or "r >= t" valid on [rlo, rhi]: t in [a, b]
        return round_threshold(max(min(a, rhi + 1), rlo), min(max(b, rlo), rhi + 1))
    if not flip:  # below: r < tlo; above: r >= thi
        clo, tlo = first_at(lo, m, c, sh) > rlo, pick(first_at(lo, m, c, sh),
                                                      first_at(lo + 1, m, c, sh))
        chi, thi = first_at(hi + 1, m, c, sh) <= rhi, pick(first_at(hi, m, c, sh),
                                                           first_at(hi + 1, m, c, sh))
        window = (tlo if clo else rlo, thi - 1 if chi else rhi)
    else:  # u = -z - 1: below: r >= tlo; above: r < thi
        clo, tlo = first_at(-lo, m, c, sh) <= rhi, pick(first_at(-lo - 1, m, c, sh),
                                                        first_at(-lo, m, c, sh))
        chi, thi = first_at(-hi - 1, m, c, sh) > rlo, pick(first_at(-hi - 1, m, c, sh),
                                                           first_at(-hi, m, c, sh))
        window = (thi if chi else rlo, tlo - 1 if clo else rhi)
    return (int(clo), tlo if clo else 0), (int(chi), thi if chi else 0), window


def stage(p, roots: list, neg_root: list) -> tuple:
    """(derive()'s keys, rows): the output stage's program and exact widths.  Per row n, on the
    tree's root r (= acc, or -acc when neg_root[n]; range roots[n]) with M' = +-M[n]:

      * flip = M' < 0: the stage computes v = r * |M'| + C with C = B, or -B - 1 when
        flipped, since floor((r*M' + B) / 2**s) = ~floor((r*|M'| - B - 1) / 2**s): the
        negation is the bitwise NOT of the shifted result (free in the clamp's LUTs);
      * the common factor 2**k (k = min(s, trailing zeros of |M'|)) is taken out of M, C
        and s (C's dropped low bits never carry into the kept ones): row shift s - k;
      * the clamp is decided on r itself (``_flags()``: a compare per bound passed), so
        the arithmetic only has to be exact on the window of roots between the bounds,
        and only modulo 2**(s + out bits): every node is at most that wide, its bits
        those of its range over the window (``truncation()`` drops low bits where the
        window allows);
      * slots: |M|'s CSD digits (r << e, negative ones subtracted), positives first (the
        tree's sign rule: a node carries its leftmost slot's sign, slot 0 is positive),
        then the constant C when nonzero; a row with one root value or an empty window
        has no digits (its output is a constant or the flags');
      * z = v >> s (wires, out bits), u = flip ? ~z : z, y = below ? lo : above ? hi : u."""
    spec, s = p.out_spec, p.out_shift
    lo_out, hi_out, ob = spec.lo, spec.hi, spec.bits
    rows = []
    for n, ((rlo, rhi), ng) in enumerate(zip(roots, neg_root)):
        m = -p.out_mult[n] if ng else p.out_mult[n]
        b = p.out_bias[n]
        if rlo == rhi:  # one root value: the constant output, no compare
            y = min(max((rlo * m + b) >> s, lo_out), hi_out)
            rows.append({"flip": False, "m": 0, "c": y, "s": 0, "d": 0, "window": (rlo, rhi),
                         "slots": [(0, 0, 1)] if y else [], "r": (rlo, rhi), "rr": None,
                         "clo": 0, "tlo": 0, "chi": 0, "thi": 0})
            continue
        flip = m < 0
        m, c = (-m, -b - 1) if flip else (m, b)
        k = min(s, (m & -m).bit_length() - 1)
        m, c, sh = m >> k, c >> k, s - k
        (clo, tlo), (chi, thi), (wlo, whi) = _flags(m, c, sh, flip, spec, rlo, rhi)
        digits = sorted(csd(m), key=lambda t: t[1] < 0) if wlo <= whi else []
        rr, dd = None, 0
        if digits and whi - wlo < TRUNCATE_RANGE:
            rr = np.arange(wlo, whi + 1, dtype=np.int64)
            dd, c = truncation(rr, digits, c, sh)
        if not digits:
            c = 0
        slots = [(e, int(d < 0), 0) for e, d in digits] + ([(0, 0, 1)] if c else [])
        rows.append({"flip": flip, "m": m, "c": c, "s": sh - dd, "d": dd, "slots": slots,
                     "window": (wlo, whi), "r": (rlo, rhi), "rr": rr,
                     "clo": clo, "tlo": tlo, "chi": chi, "thi": thi})
    t = max(1, *(len(r["slots"]) for r in rows))
    for r in rows:
        slots = row_slots(r["slots"], t, p.arity)
        # a slot's stored value as (a, c): a * root + c
        lin = [(0, 0) if sl is None else (0, r["c"]) if sl[2] else (1 << sl[0], 0)
               for sl in slots]
        negs = [0 if sl is None else sl[1] for sl in slots]
        wlo, whi = r["window"]

        def srange(a, b, lin=lin, negs=negs, wlo=wlo, whi=whi):
            m = sum(lin[j][0] * (-1 if negs[j] else 1) for j in range(a, b + 1))
            c = sum(lin[j][1] * (-1 if negs[j] else 1) for j in range(a, b + 1))
            return tuple(sorted((m * wlo + c, m * whi + c)))
        if r["d"]:  # truncated digits: not linear in the root, ranges by evaluation
            vals = [np.zeros(1, np.int64) if sl is None else np.full(1, r["c"]) if sl[2] else
                    (r["rr"] << sl[0]) >> r["d"] for sl in slots]
            signed = [-v if ng else v for v, ng in zip(vals, negs)]

            def srange(a, b, signed=signed):  # noqa: F811 (the truncated case's)
                v = sum(signed[a:b + 1])
                return int(np.min(v)), int(np.max(v))
        tz = [None if sl is None else
              ((r["c"] & -r["c"]).bit_length() - 1 if sl[2] else max(0, sl[0] - r["d"]), sl[1])
              for sl in slots]
        levels = tree(p.arity, tz, srange)
        cap = r["s"] + ob  # the bits the output reads: the rest are never needed
        for nd in (nd for lv in levels for nd in lv if nd is not None):
            nd["bits"] = min(nd["bits"], cap)
            nd["low"] = min(nd["low"], nd["bits"] - 1)
        r.update(spread=slots, levels=levels, cap=cap)
    rw = max(r["cap"] for r in rows)
    rq_tree = len(tree_counts(t, p.arity)) - 1
    add = [adder_counts(len(r["slots"]), t, p.arity) for r in rows]
    return {"requant": 1, "out_bits": ob, "out_signed": bool(spec.signed),
            "out_lo": int(lo_out), "out_hi": int(hi_out),
            "rq_slots": t, "rq_tree": rq_tree, "rq_levels": rq_tree + 1, "rq_width": rw,
            "rq_digits": [len(r["slots"]) - int(bool(r["c"])) for r in rows],
            "rq_adders": sum(a for a, _ in add), "rq_adders3": sum(a for _, a in add),
            "rq_clamps": sum(r["clo"] + r["chi"] for r in rows)}, rows


def truncation(rr: np.ndarray, digits: list, c: int, s: int) -> tuple:
    """(d, C'): the most low bits d <= s the stage can drop from each digit's product and
    still give z = (sum + C) >> s exactly on every root value ``rr`` (the window: no
    clamp there): with slots floor((r << e) / 2**d) (negative digits subtracted) and the
    constant C', z = (sum + C') >> (s - d).  The dropped bits only carry into the kept
    ones, which C' makes up for where it can: for each r, z fixes an interval of sums, so
    C' exists when those intervals, less the truncated digits' sums, meet; the one nearest
    C >> d is taken.  d = 0 is the exact stage."""
    z = (sum(-(rr << e) if dg < 0 else rr << e for e, dg in digits) + c) >> s
    for d in range(s, 0, -1):
        base = sum(-((rr << e) >> d) if dg < 0 else (rr << e) >> d for e, dg in digits)
        sh = s - d
        lo = int(np.max((z << sh) - base))
        hi = int(np.min(((z + 1) << sh) - 1 - base))
        if lo <= hi:
            return d, min(max(c >> d, lo), hi)
    return 0, c


def stage_fields(d: dict, rows: list) -> dict:
    """The output stage as packed parameter fields (hw/rtl/cmvm.v's RQ_*): slot (n, t) at
    index n * rq_slots + t of rq_shift (rq_sh_bits), rq_neg, rq_used, rq_const (1 bit);
    per row rq_c (rq_width bits, two's complement), rq_s (rq_s_bits), rq_flip, rq_clo,
    rq_chi (1 bit), rq_tlo and rq_thi (acc_bits + 1, signed); per row and node
    rq_node_bits and rq_node_lo (rq_nb_bits), rq_node_args and rq_node_sub (2 bits),
    rq_node_uns (1 bit), as node_fields() (the slots and passing nodes at rq_width, 0).
    Zero fields without a stage."""
    if not d["requant"]:
        return {"rq_slots": 1, "rq_width": 1, "out_bits": d["acc_bits"], "rq_sh_bits": 1,
                "rq_shift": [0], "rq_neg": [0], "rq_used": [0], "rq_const": [0],
                "rq_c": [0], "rq_s_bits": 1, "rq_s": [0], "rq_d": [0], "rq_flip": [0],
                "rq_clo": [0], "rq_chi": [0], "rq_tlo": [0], "rq_thi": [0], "rq_nb_bits": 1,
                "out_lo": 0, "out_hi": 0, "rq_nodes": 1, "rq_node_bits": [0],
                "rq_node_lo": [0], "rq_node_args": [0], "rq_node_sub": [0],
                "rq_node_uns": [0]}
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
        nodes += [(rw, 0, 0, 0, 0)] * t + [node_field(nd, rw) for lv in r["levels"]
                                           for nd in lv]
    node_w, node_lo, node_args, node_sub, node_uns = (list(f) for f in zip(*nodes))
    half = 1 << (rw - 1)
    return {"rq_sh_bits": max(1, max(f["shift"] + [r["d"] for r in rows]).bit_length()),
            "rq_shift": f["shift"], "rq_neg": f["neg"], "rq_used": f["used"],
            "rq_const": f["const"],
            "rq_c": [(r["c"] + half) % (1 << rw) - half for r in rows],  # modulo 2**rw
            "rq_s_bits": max(1, max(r["s"] for r in rows).bit_length()),
            "rq_s": [r["s"] for r in rows], "rq_d": [r["d"] for r in rows],
            "rq_flip": [int(r["flip"]) for r in rows],
            "rq_clo": [r["clo"] for r in rows], "rq_chi": [r["chi"] for r in rows],
            "rq_tlo": [r["tlo"] for r in rows], "rq_thi": [r["thi"] for r in rows],
            "rq_nb_bits": rw.bit_length(), "rq_nodes": len(node_w) // len(rows),
            "rq_node_bits": node_w, "rq_node_lo": node_lo, "rq_node_args": node_args,
            "rq_node_sub": node_sub, "rq_node_uns": node_uns}


def stage_resources(p, d: dict):
    """The output stage's cells, from its tree per row: an adder spans its node's bits
    less the larger trailing zeros of its operands (a digit's: its shift) and, with the
    constant as an operand, is a LUT per one bit of the constant in that span (the others
    are wires into the carry chain); a register keeps a node's bits less its variable
    trailing zeros (the constant's low bits are constant flip-flops, removed), the
    stage's root only the output's bits (the shifted-out bits go), and the clamp's flags
    at every register; a compare of the root with a constant per bound passed, over the
    root's bits above the threshold's trailing zeros (yosys's cmp2lcu: a LUT per 3 bits),
    the select (a LUT per output bit) and the output register (out_bits)."""
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
                regs += r["clo"] + r["chi"]  # the flags travel with the tree
                if lvl == d["rq_tree"]:
                    regs += d["out_bits"] if lv[0] and not const(lv[0]) else 0
                else:
                    regs += sum(max(1, nd["bits"] - min(vtz[nd["first"]:nd["last"] + 1]))
                                for nd in lv if nd is not None and not const(nd))
        for on, t in ((r["clo"], r["tlo"]), (r["chi"], r["thi"])):
            if on:  # the root's bits above the threshold's trailing zeros
                tz = (t & -t).bit_length() - 1 if t else d["acc_bits"]
                luts += math.ceil((d["acc_bits"] + 1 - min(d["acc_bits"], tz)) / 3)
        luts += d["out_bits"]
    return Cost(LUT=luts, CARRY4=carry) + pr.reg(regs + d["out_bits"] * d["rows"])
