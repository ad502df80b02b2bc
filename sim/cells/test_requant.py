"""cocotb bench of a requant layer (hw/rtl/requant.v): every output beat equals
units/requant.golden() under random stalls on both sides (tests/test_cell_requant.py)."""

import cocotb
from harness import check


@cocotb.test()
async def requant(dut):
    await check(dut)
