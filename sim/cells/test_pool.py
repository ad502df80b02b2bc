"""cocotb bench of a rendered pool layer (hw/rtl/swg.v + pool.v, or gpool.v): every output
beat equals golden()'s, none lost or duplicated under random stalls on both sides."""

import cocotb
from harness import check


@cocotb.test()
async def pool(dut):
    await check(dut)
