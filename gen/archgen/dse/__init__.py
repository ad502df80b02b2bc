"""Design-space exploration: design flows of tasks on the IR (precision, pruning, folding,
strategy), searched with Optuna over a local process pool or a Dask cluster.

    >>> from archgen import dse
    >>> result = dse.run("model.onnx", "dse-out/", data="d.npz", trials=100, workers=2)

Modules: ``transforms`` (pure Graph -> Graph rewrites), ``tasks`` (the task registry and
the Design they act on), ``flow`` (YAML flows and their validation), ``metrics`` (fidelity
and the analytic estimate), ``execute`` (one trial), ``search`` (Optuna and the executors),
``output`` (pareto.json, pareto.html, the best design's project).
"""

from __future__ import annotations


def run(*args, **kwargs):
    """See ``archgen.dse.search.run``."""
    from .search import run as _run

    return _run(*args, **kwargs)


__all__ = ["run"]
