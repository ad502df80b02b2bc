"""Resource and latency analyses: the analytic model (per unit, ``estimate()``), yosys
synthesis per layer (``synth``), and the report writers (``report_project``).  Analyses
read a hardware plan; they never change a graph."""

from .model import Estimate, estimate
from .parts import PARTS, Part, get_part
from .resources import KEYS, Cost

__all__ = ["Estimate", "estimate", "PARTS", "Part", "get_part", "KEYS", "Cost"]
