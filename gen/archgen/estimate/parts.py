"""FPGA parts the reports measure utilization against (device totals from the vendor's
product tables).  A part is named by its device; the package and speed grade that follow
it in a full part name (xc7z020clg400-1) do not change the totals."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError


@dataclass(frozen=True)
class Part:
    device: str
    family: str  # yosys synth_xilinx -family: xc7 (7-series) or xcup (UltraScale+)
    LUT: int
    FF: int
    DSP: int
    BRAM36: int  # each holds two BRAM18

    @property
    def BRAM18(self) -> int:
        return 2 * self.BRAM36

    @property
    def CARRY4(self) -> int:
        """Carry chain in 4-bit units (a CARRY4 per 4 LUTs; an UltraScale+ CARRY8 is two)."""
        return self.LUT // 4

    def capacity(self) -> dict:
        return {k: getattr(self, k) for k in ("LUT", "FF", "DSP", "BRAM36", "BRAM18", "CARRY4")}

    @property
    def dsp_packs(self) -> bool:
        """Whether yosys packs a one-slice product's operand and product registers and an
        adder after it into the DSP (``xilinx_dsp``): on 7-series DSP48E1s it does; on
        UltraScale+ DSP48E2s yosys 0.23 leaves the matrix-vector units' registers and
        first tree adders in fabric (measured: an 8 x 16 fully parallel 6-bit layer has
        1,177 flip-flops on xc7, 3,641 on xcup; the requantizer keeps its bias add and
        output register in the slice, the rest in fabric)."""
        return self.family == "xc7"

    @property
    def dsp_widths(self) -> tuple[int, int]:
        """Signed multiplier operand widths of one DSP slice (DSP48E1 25x18, DSP48E2 27x18)."""
        return (27, 18) if self.family == "xcup" else (25, 18)


PARTS = (
    Part("xc7z020", "xc7", LUT=53_200, FF=106_400, DSP=220, BRAM36=140),
    Part("xc7a100t", "xc7", LUT=63_400, FF=126_800, DSP=240, BRAM36=135),
    Part("xczu3eg", "xcup", LUT=70_560, FF=141_120, DSP=360, BRAM36=216),
    Part("xczu9eg", "xcup", LUT=274_080, FF=548_160, DSP=2_520, BRAM36=912),
    Part("xcvu9p", "xcup", LUT=1_182_240, FF=2_364_480, DSP=6_840, BRAM36=2_160),
    Part("xcu250", "xcup", LUT=1_728_000, FF=3_456_000, DSP=12_288, BRAM36=2_688),
)


def get_part(name: str) -> Part:
    """The part whose device ``name`` starts with (case-insensitive)."""
    low = name.strip().lower()
    for p in sorted(PARTS, key=lambda p: -len(p.device)):
        if low.startswith(p.device):
            return p
    raise ConfigError(f"part {name!r} is not in the parts table; known devices: "
                      f"{', '.join(p.device for p in PARTS)} (any package and speed grade)")
