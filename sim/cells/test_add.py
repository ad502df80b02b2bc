"""cocotb bench of a add layer (hw/rtl/add.v): every output beat equals
units/add.golden() under random stalls on both sides (tests/test_cell_add.py)."""

import cocotb
from harness import check


@cocotb.test()
async def add(dut):
    await check(dut)
