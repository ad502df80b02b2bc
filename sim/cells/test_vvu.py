"""cocotb bench of a rendered vvu layer (hw/rtl/vvu.v): every output beat equals the unit's
golden(), none lost or duplicated under random stalls on both sides."""

import cocotb
from harness import check


@cocotb.test()
async def vvu(dut):
    await check(dut)
