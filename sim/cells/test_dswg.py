"""cocotb bench of a rendered dswg layer (hw/rtl/dswg.v): every window beat equals
units/dswg.golden() under random stalls on the frame, offset, mask and output streams.

It also records how far the input runs ahead of the offsets: ``dswg_lead.json`` (next
to the bench result) lists, for each offset beat j (one output pixel, counted over every
frame sent), the most input beats taken while beat j was the last offset beat taken.
tests/test_cell_dswg.py holds it against derive()'s ``lead_beats``."""

import json
import os
from pathlib import Path

import cocotb
from cocotb.triggers import RisingEdge
from harness import check


async def watch_lead(dut, most: list):
    n0 = n1 = 0
    while True:
        await RisingEdge(dut.aclk)
        if int(dut.s0_axis_tvalid.value) and int(dut.s0_axis_tready.value):
            n0 += 1
        if int(dut.s1_axis_tvalid.value) and int(dut.s1_axis_tready.value):
            n1 += 1
            most.append(n0)
        elif n1:
            most[-1] = max(most[-1], n0)


@cocotb.test()
async def dswg(dut):
    most = []
    watcher = cocotb.start_soon(watch_lead(dut, most))
    try:
        await check(dut)
    finally:
        watcher.cancel()
        out = Path(os.environ.get("ARCHGEN_RESULT", "bench_result.json")).parent
        (out / "dswg_lead.json").write_text(json.dumps(most))
