"""cocotb bench of hw/rtl/axis_width.v: element order and tlast kept across the width
change, none lost or duplicated under random stalls on both sides."""

import cocotb
from harness import check


@cocotb.test()
async def axis_width(dut):
    await check(dut)
