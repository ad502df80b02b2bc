"""What a search writes: DIR/pareto.json (every Pareto point with its full configuration
and metrics, and the baseline), DIR/pareto.html (one self-contained page, inline SVG) and,
on request, the chosen design's project in DIR/best.

The choice rule for ``--emit-best``: among the Pareto points whose fidelity is at least
the floor (``--min-fidelity``; by default the baseline's fidelity minus 0.01), the one
with the fewest LUTs (then DSPs, then FFs); when no point reaches the floor, the point of
highest fidelity (then fewest LUTs).  ``rank`` orders the whole front by that rule: the
``--verify-best K`` candidates are its first K (``verify.py``), whose measured figures
(yosys, RTL simulation) the page shows beside the estimate.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from pathlib import Path

from ..project import json_text, write_atomic
from .metrics import METRICS

SHOWN = ("LUT", "FF", "DSP", "BRAM", "interval", "latency", "fidelity")
RC = {"svg.hashsalt": "archgen-dse", "svg.fonttype": "none", "font.size": 9,
      "axes.edgecolor": "#9aa1ab", "axes.linewidth": 0.8}


def _reduction(m: dict, base: dict) -> dict:
    """Percent fewer than the baseline, for the resource metrics."""
    out = {}
    for k in ("LUT", "FF", "DSP", "BRAM"):
        b = base.get(k) or 0
        out[k] = round(100.0 * (b - m[k]) / b, 1) if b else None
    return out


def pareto_points(study, flow, base: dict) -> list:
    points = []
    for t in study.best_trials:
        m = t.user_attrs["metrics"]
        points.append({"trial": t.number, "params": dict(sorted(t.params.items())),
                       "design": t.user_attrs["design"], "trace": t.user_attrs.get("trace", []),
                       "metrics": m, "reduction_percent": _reduction(m, base)})
    sign = [-1 if METRICS[o] else 1 for o in flow.objectives]
    points.sort(key=lambda p: tuple(s * p["metrics"][o] for s, o in zip(sign, flow.objectives))
                + (p["trial"],))
    return points


def rank(points: list, base: dict, min_fidelity: float | None) -> tuple:
    """(the Pareto points in the order of the choice rule, the fidelity floor, whether any
    point reaches it): first the points with fidelity at least the floor, by fewest LUT,
    then DSP, then FF; then the others by highest fidelity, then fewest LUT.  The first is
    ``--emit-best``'s choice, the first K are ``--verify-best K``'s."""
    floor = base["fidelity"] - 0.01 if min_fidelity is None else float(min_fidelity)
    ok = [p for p in points if p["metrics"]["fidelity"] >= floor - 1e-12]
    low = [p for p in points if p["metrics"]["fidelity"] < floor - 1e-12]
    ok.sort(key=lambda p: (p["metrics"]["LUT"], p["metrics"]["DSP"], p["metrics"]["FF"],
                           p["trial"]))
    low.sort(key=lambda p: (-p["metrics"]["fidelity"], p["metrics"]["LUT"], p["trial"]))
    return ok + low, floor, bool(ok)


def choose_best(points: list, base: dict, min_fidelity: float | None):
    order, floor, met = rank(points, base, min_fidelity)
    if not order:
        return None
    if met:
        rule = f"fewest LUT (then DSP, FF) among Pareto points with fidelity >= {floor:.4g}"
    else:
        rule = f"no Pareto point reaches fidelity {floor:.4g}: the highest fidelity"
    return {"trial": order[0]["trial"], "rule": rule, "min_fidelity": floor}


@dataclass
class Outputs:
    doc: dict  # what pareto.json holds
    others: list  # the metrics of every complete trial (the plots' grey points)
    complete: int
    failed: int


def write_outputs(study, flow, space, ctx, out_dir: Path, emit_best: bool,
                  min_fidelity: float | None) -> Outputs:
    import optuna

    states = [t.state for t in study.trials]
    complete = states.count(optuna.trial.TrialState.COMPLETE)
    failed = states.count(optuna.trial.TrialState.FAIL)
    baseline = study.user_attrs["baseline"]
    base = baseline["metrics"]
    points = pareto_points(study, flow, base) if complete else []
    best = choose_best(points, base, min_fidelity)
    errors = sorted({t.user_attrs["error"] for t in study.trials
                     if t.state == optuna.trial.TrialState.FAIL and "error" in t.user_attrs})
    doc = {"model": ctx.path.name, "data": ctx.data, "flow": flow.name,
           "flow_file": Path(flow.file).name if flow.file != "default flow" else None,
           "objectives": [{"metric": o, "direction": d}
                          for o, d in zip(flow.objectives, flow.directions())],
           "constraints": [c.text for c in flow.constraints],
           "space": {p.name: p.free.to_json() for p in space},
           "trials": {"complete": complete, "failed": failed},
           "failures": errors[:20],
           "baseline": baseline, "pareto": points, "best": best}
    others = [t.user_attrs["metrics"] for t in study.trials
              if t.state == optuna.trial.TrialState.COMPLETE]
    out = Outputs(doc, others, complete, failed)
    write_doc(out_dir, out)
    if emit_best and best is not None:
        point = next(p for p in points if p["trial"] == best["trial"])
        best["project"] = "best"
        emit(ctx, point, out_dir / "best")
        write_doc(out_dir, out)
    return out


def write_doc(out_dir: Path, out: Outputs) -> None:
    """pareto.json and pareto.html from ``out.doc`` as it stands."""
    write_atomic(out_dir / "pareto.json", json_text(out.doc))
    write_atomic(out_dir / "pareto.html", render_html(out.doc, out.others))


def emit(ctx, point: dict, project_dir: Path) -> list:
    """Generate the project of a Pareto point into ``project_dir`` (Verilog backend).
    The manifest records the design's IR edits, which ``archgen sim``/``report`` replay."""
    from .. import Model
    from ..config import config_from_dict
    from ..frontend import load_model
    from ..passes import run_pipeline
    from ..project import write_project
    from .tasks import apply_edits

    design = point["design"]
    config = config_from_dict(design["config"], "pareto.json design config")
    source = apply_edits(load_model(ctx.path, config), design["edits"])
    model = Model(ctx.path, config, source, run_pipeline(source, config))
    return write_project(model, project_dir, backends=("verilog",),
                         options={"dse_trial": point["trial"], "dse_edits": design["edits"]})


# -- the page ------------------------------------------------------------------------------------

def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _plot(doc: dict, others: list, key: str) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2, 3.4))
    ax = fig.add_subplot()
    ax.scatter([m[key] for m in others], [m["fidelity"] for m in others], s=10,
               color="#c9ced6", label="trials")
    pts = [p["metrics"] for p in doc["pareto"]]
    pts.sort(key=lambda m: m[key])
    ax.plot([m[key] for m in pts], [m["fidelity"] for m in pts], "o-", color="#4c72b0",
            markersize=4, label="Pareto")
    b = doc["baseline"]["metrics"]
    ax.scatter([b[key]], [b["fidelity"]], marker="*", s=90, color="#c44e52",
               label="baseline", zorder=3)
    if doc.get("best"):
        bm = next(p["metrics"] for p in doc["pareto"] if p["trial"] == doc["best"]["trial"])
        ax.scatter([bm[key]], [bm["fidelity"]], marker="D", s=40, color="#55a868",
                   label="best", zorder=3)
    ax.set_xlabel(key)
    ax.set_ylabel("fidelity")
    ax.grid(True, color="#e3e6ea")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return _svg(fig)


def _fmt(v) -> str:
    if v is None:
        return "\u2014"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 10 else f"{v:,.0f}"
    return f"{v:,}" if isinstance(v, int) else html.escape(str(v))


def render_html(doc: dict, others: list) -> str:
    import matplotlib

    with matplotlib.rc_context(RC):
        plots = "".join(f'<div class="plot">{_plot(doc, others, k)}</div>'
                        for k in ("LUT", "DSP"))
    head = "".join(f"<th>{k}</th>" for k in ("trial",) + SHOWN + ("LUT -%", "DSP -%",
                                                                   "measured"))
    rows = []
    base = doc["baseline"]["metrics"]
    rows.append("<tr class='base'><td>baseline</td>" + "".join(
        f"<td>{_fmt(base[k])}</td>" for k in SHOWN) + "<td></td><td></td>"
        f"<td>{_measured_mark(doc['baseline'])}</td></tr>")
    best = (doc.get("best") or {}).get("trial")
    for p in doc["pareto"]:
        m, r = p["metrics"], p["reduction_percent"]
        cls = " class='best'" if p["trial"] == best else ""
        rows.append(f"<tr{cls}><td>{p['trial']}</td>" + "".join(
            f"<td>{_fmt(m[k])}</td>" for k in SHOWN)
            + f"<td>{_fmt(r['LUT'])}</td><td>{_fmt(r['DSP'])}</td>"
            f"<td>{_measured_mark(p)}</td></tr>")
    measured = _measured_table(doc)
    title = f"archgen dse: {html.escape(doc['model'])}"
    best_text = (f"<p>Best (trial {best}): {html.escape(doc['best']['rule'])}.</p>"
                 if best is not None else "")
    return ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>" + title + "</title>"
            "<style>body{font-family:sans-serif;margin:2em;color:#2b2f36}"
            "table{border-collapse:collapse;font-size:13px}td,th{padding:3px 8px;"
            "border-bottom:1px solid #e3e6ea;text-align:right}.base{background:#fbeaea}"
            ".best{background:#e6f4ea}.plots{display:flex;flex-wrap:wrap;gap:1em}"
            ".plot{width:520px}.plot svg{width:100%;height:auto}</style></head><body>"
            f"<h1>{title}</h1><p>Flow {html.escape(doc['flow'])}; data: "
            f"{html.escape(doc['data'])}; {doc['trials']['complete']} trials "
            f"({doc['trials']['failed']} failed); objectives: "
            + ", ".join(f"{o['direction']} {o['metric']}" for o in doc["objectives"])
            + f".</p>{best_text}<div class='plots'>{plots}</div>"
            f"<h2>Pareto front</h2><table><tr>{head}</tr>{''.join(rows)}</table>"
            f"{measured}</body></html>\n")


# measured figures (--verify-best): "estimate / measured (error %)" per metric
MEASURED = (("LUT", "LUT"), ("FF", "FF"), ("DSP", "DSP"), ("BRAM36", "BRAM36"),
            ("BRAM18", "BRAM18"), ("interval", "interval_cycles"), ("latency", "latency_cycles"))


def _measured_mark(point: dict) -> str:
    m = point.get("measured")
    if m is None:
        return ""
    if m.get("bit_exact") is False:
        return "<b>mismatch</b>"
    return "error" if m.get("error") else "yes"


def _measured_table(doc: dict) -> str:
    """The section of the measured designs: estimate beside yosys and the RTL simulation,
    the estimate's error in percent."""
    rows = [("baseline", doc["baseline"])] + [(p["trial"], p) for p in doc["pareto"]]
    rows = [(name, p) for name, p in rows if p.get("measured")]
    if not rows:
        return ""
    v = doc.get("verify", {})
    source = rows[0][1]["measured"]["source"]
    head = "".join(f"<th>{k}</th>" for k in ("trial",) + tuple(m for m, _ in MEASURED)
                   + ("bit-exact",))
    body = []
    for name, p in rows:
        m, est = p["measured"], p["metrics"]
        err = m.get("estimate_error_percent", {})
        cells = []
        for metric, key in MEASURED:
            if m.get(key) is None:
                cells.append(f"<td>{_fmt(est.get(metric))} / \u2014</td>")
                continue
            e = err.get(metric)
            pct = "" if e is None else f" ({e:+.1f}%)"
            cells.append(f"<td>{_fmt(est.get(metric))} / {_fmt(m[key])}{pct}</td>")
        exact = {True: "yes", False: "<b>no</b>", None: "\u2014"}[m.get("bit_exact")]
        note = f"<br><small>{html.escape(m['error'])}</small>" if m.get("error") else ""
        body.append(f"<tr><td>{html.escape(str(name))}</td>{''.join(cells)}"
                    f"<td>{exact}{note}</td></tr>")
    return (f"<h2>Measured</h2><p>Estimate / measured (the estimate's error in percent of "
            f"the measurement), by {html.escape(source)} on {v.get('frames', '?')} frames of "
            f"the data; projects in {html.escape(v.get('folder', 'verify'))}/. The front "
            "above is the analytic one: the search scores every trial with the estimate."
            f"</p><table><tr>{head}</tr>{''.join(body)}</table>")
