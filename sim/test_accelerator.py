"""Generic cocotb bench of a generated accelerator: streams the frames of the bench file
(ARCHGEN_BENCH, default vectors.json) through the top level with random stalls on both
sides and checks every output beat against the golden model's (see harness.py)."""

import cocotb
from harness import check


@cocotb.test()
async def accelerator(dut):
    await check(dut)
