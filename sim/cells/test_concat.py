"""cocotb bench of a concat layer module (templates/verilog/concat.v.j2 around
hw/rtl/concat.v): output beats equal the unit's golden(), under random stalls."""

import cocotb
from harness import check


@cocotb.test()
async def concat(dut):
    await check(dut)
