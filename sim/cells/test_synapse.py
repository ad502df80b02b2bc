"""cocotb bench of a rendered synapse layer (hw/rtl/synapse.v): every output beat equals the
unit's golden(), none lost or duplicated under random stalls on both sides."""
import cocotb
from harness import check


@cocotb.test()
async def synapse(dut):
    await check(dut)
