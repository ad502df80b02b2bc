"""cocotb bench of a rendered swg layer (hw/rtl/swg.v): every window beat equals golden()'s,
none lost or duplicated under random stalls on both sides."""

import cocotb
from harness import check


@cocotb.test()
async def swg(dut):
    await check(dut)
