"""Hardware units: one module per unit, each with Params, derive(), golden(), context().

``UNITS`` is the explicit list; nothing registers itself on import.
"""

from __future__ import annotations

from types import ModuleType

from ..errors import InternalError
from . import (add, argmax, chslice, cmvm, concat, dswg, lif, mvu, pool, requant, swg,
               synapse, thresholds, vvu)

UNITS: tuple = (mvu, swg, vvu, thresholds, requant, pool, add, concat, argmax, lif, synapse, dswg,
                chslice, cmvm)


def _table() -> dict:
    return {m.Params: m for m in UNITS}


def is_unit(op) -> bool:
    """Whether ``op`` is a hardware unit's Params (else a model op)."""
    return type(op) in _table()


def unit_of(params) -> ModuleType:
    """The unit module whose Params class ``params`` is an instance of."""
    try:
        return _table()[type(params)]
    except KeyError:
        raise InternalError(f"{type(params).__name__} is neither a model op nor a unit") from None
