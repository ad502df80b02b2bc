"""Running a flow for one assignment of its free parameters: the work of one trial.

``run_trial`` is what a worker process (local pool or Dask) calls: plain data in
(the Context, the flow, the values), plain JSON-able data out (metrics, the design's
config and edits, the trace of branches taken), so it pickles cheaply and resumes from
the Optuna storage alone.
"""

from __future__ import annotations

from .flow import Branch, Flow, Fork, TaskStep, build_config
from .metrics import measure
from .tasks import TASKS


def execute(flow: Flow, ctx, values: dict):
    """(design, metrics, trace) of the flow with the free parameters ``values``."""
    trace = []
    cache = {}

    def metrics_of(design):
        key = id(design)
        if key not in cache:
            cache[key] = (design, measure(design, ctx))
        return cache[key][1]

    def run(steps, design):
        for step in steps:
            if isinstance(step, TaskStep):
                cfg = build_config(step, values, flow.file)
                design = TASKS[step.task].fn(design, cfg)
            elif isinstance(step, Branch):
                took = step.cond(metrics_of(design))
                trace.append(f"{step.where}: if {step.cond.text}: "
                             f"{'then' if took else 'else'}")
                design = run(step.then if took else step.orelse, design)
            elif isinstance(step, Fork):
                design = fork(step, design)
        return design

    def fork(step: Fork, design):
        outs = [run(b, design) for b in step.branches]
        ms = [metrics_of(d) for d in outs]
        red = step.reduce
        ok = [i for i, m in enumerate(ms) if red.where is None or red.where(m)]
        pool = ok or list(range(len(outs)))
        sign = -1 if red.maximize else 1
        best = min(pool, key=lambda i: (sign * ms[i][red.metric], i))
        note = "" if ok or red.where is None else f" (no branch meets {red.where.text})"
        trace.append(f"{step.where}: branch {best + 1} of {len(outs)} by "
                     f"{'max' if red.maximize else 'min'} {red.metric}{note}")
        return outs[best]

    design = run(flow.steps, ctx.design())
    return design, metrics_of(design), trace


def describe(design) -> dict:
    """The design's full configuration, as JSON."""
    return {"config": design.config.to_json(),
            "edits": [[name, args] for name, args in design.edits],
            "notes": list(dict.fromkeys(design.notes))}


def run_trial(ctx, flow: Flow, values: dict) -> dict:
    """One trial: ``{"metrics", "design", "trace"}`` or ``{"error"}`` (a design the
    tools reject: an indivisible folding, an unsupported strategy...)."""
    from ..errors import ArchgenError

    try:
        design, metrics, trace = execute(flow, ctx, values)
    except ArchgenError as e:
        return {"error": " ".join(str(e).split())}
    return {"metrics": metrics, "design": describe(design), "trace": trace}
