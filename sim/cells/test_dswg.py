"""cocotb bench of a rendered dswg layer (hw/rtl/dswg.v): every window beat equals
units/dswg.golden() under random stalls on the frame, offset, mask and output streams."""

import cocotb
from harness import check


@cocotb.test()
async def dswg(dut):
    await check(dut)
