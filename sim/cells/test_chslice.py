"""cocotb bench of a chslice layer module (templates/verilog/chslice.v.j2 around
hw/rtl/chslice.v): output beats equal the unit's golden(), under random stalls."""

import cocotb
from harness import check


@cocotb.test()
async def chslice(dut):
    await check(dut)
