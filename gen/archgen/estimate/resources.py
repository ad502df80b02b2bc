"""The resource vector every estimate and synthesis result is expressed in."""

from __future__ import annotations

from dataclasses import dataclass

KEYS = ("LUT", "FF", "DSP", "BRAM36", "BRAM18", "CARRY4")


@dataclass(frozen=True)
class Cost:
    """FPGA resources of a piece of hardware (Xilinx primitives; fractions allowed while
    summing: a LUT holding two small functions counts 0.5 each)."""

    LUT: float = 0.0
    FF: float = 0.0
    DSP: float = 0.0
    BRAM36: float = 0.0
    BRAM18: float = 0.0
    CARRY4: float = 0.0

    def __add__(self, other: Cost) -> Cost:
        return Cost(*(getattr(self, k) + getattr(other, k) for k in KEYS))

    def __mul__(self, n: float) -> Cost:
        return Cost(*(getattr(self, k) * n for k in KEYS))

    __rmul__ = __mul__

    @classmethod
    def of(cls, totals) -> Cost:
        """The Cost of a mapping with these keys (a report's totals; missing keys 0)."""
        return cls(*(totals.get(k, 0) for k in KEYS))

    @property
    def bram36(self) -> float:
        """Block RAM in BRAM36 units (a BRAM18 is half of one)."""
        return self.BRAM36 + self.BRAM18 / 2

    def rounded(self) -> dict:
        return {k: int(round(getattr(self, k))) for k in KEYS}

    @staticmethod
    def total(costs) -> Cost:
        out = Cost()
        for c in costs:
            out = out + c
        return out

