"""cocotb bench of hw/rtl/axis_fork.v (through a wrapper naming the outputs m0_axis,
m1_axis, ...): every beat reaches every output once, whatever each output's stalls."""

import cocotb
from harness import check


@cocotb.test()
async def axis_fork(dut):
    await check(dut)
