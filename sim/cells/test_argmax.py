"""cocotb bench of a argmax layer (hw/rtl/argmax.v): every output beat equals
units/argmax.golden() under random stalls on both sides (tests/test_cell_argmax.py)."""

import cocotb
from harness import check


@cocotb.test()
async def argmax(dut):
    await check(dut)
