"""cocotb bench of a rendered cmvm layer (hw/rtl/cmvm.v): every output beat equals the unit's
golden(), none lost or duplicated under random stalls on both sides."""

import cocotb
from harness import check


@cocotb.test()
async def cmvm(dut):
    await check(dut)
