"""cocotb bench of a spiking-neuron layer (hw/rtl/lif.v): every output beat equals
units/lif.golden() under random stalls on both sides (tests/test_cell_lif.py)."""

import cocotb
from harness import check


@cocotb.test()
async def lif(dut):
    await check(dut)
