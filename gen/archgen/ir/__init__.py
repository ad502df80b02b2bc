"""archgen's typed intermediate representation."""

from .graph import Graph, Node, Tensor, sanitize
from .ops import Op
from .types import QuantSpec, RoundMode
from .verify import reinfer, verify

__all__ = ["Graph", "Node", "Tensor", "Op", "QuantSpec", "RoundMode", "sanitize", "verify", "reinfer"]
