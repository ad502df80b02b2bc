"""cocotb bench of a thresholds layer (hw/rtl/thresholds.v): every output beat equals
units/thresholds.golden() under random stalls on both sides (tests/test_cell_thresholds.py)."""

import cocotb
from harness import check


@cocotb.test()
async def thresholds(dut):
    await check(dut)
