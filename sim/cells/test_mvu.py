"""cocotb bench of a rendered mvu layer (hw/rtl/mvu.v): every output beat equals the unit's
golden(), none lost or duplicated under random stalls on both sides."""

import cocotb
from harness import check


@cocotb.test()
async def mvu(dut):
    await check(dut)
