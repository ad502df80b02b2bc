"""cocotb bench of hw/rtl/axis_skid.v: data in order, none lost or
duplicated under random stalls on both sides."""

import cocotb
from harness import check


@cocotb.test()
async def axis_skid(dut):
    await check(dut)
