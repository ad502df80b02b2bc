"""The ``weight_memory`` option (auto | bram | lutram | logic): where the weight ROMs of the
mvu, vvu and synapse units go.  One decision in Python (the unit's derive()["weight_mem"])
feeds the RTL (the cells' WEIGHT_MEM parameter and the ROM's attributes), the HLS kernel
(BIND_STORAGE impl) and the estimate.  ``auto`` is yosys's own placement by size, then
the part's spare block RAM for the ROMs that save the most LUTs (passes/place_weights)."""

from __future__ import annotations

import dataclasses
import importlib
import logging
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from cellsim import lint, rtl, run_unit, synth
from conftest import fixture_path
from test_cell_mvu import inputs
from test_cell_mvu import layer as mvu_layer
from test_cell_synapse import layer as synapse_layer
from test_cell_vvu import layer as vvu_layer

import archgen
from archgen.backends import hls, verilog
from archgen.backends.hardware import plan
from archgen.config import config_from_dict
from archgen.errors import ConfigError, InternalError
from archgen.estimate import estimate, get_part
from archgen.estimate.memory import rom_kind, weight_placement
from archgen.units import mvu, synapse, unit_of, vvu

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import perf_sim  # noqa: E402

# the module (archgen.passes exports its function under the same name)
place_weights = importlib.import_module("archgen.passes.place_weights")

PLACEMENTS = ("bram", "lutram", "logic")


def placed(case, mem):
    """(op, ins, outs) of a layer with its weight memory set to ``mem``."""
    op, ins, outs = case
    return dataclasses.replace(op, weight_mem=mem), ins, outs


def resources(op, ins, outs):
    unit = unit_of(op)
    return unit.resources(op, unit.derive(op, ins, outs), get_part("xc7z020"))


# -- the option ------------------------------------------------------------------------------

def test_config_rejects_an_unknown_weight_memory_naming_the_valid_ones():
    with pytest.raises(ConfigError, match=r"weight_memory: 'ultra' is not one of auto, bram, "
                                          r"lutram, logic"):
        config_from_dict({"weight_memory": "ultra"})
    with pytest.raises(ConfigError, match=r"layers\.conv1\.weight_memory: 'BRAM' is not one of "
                                          r"auto, bram, lutram, logic"):
        config_from_dict({"layers": {"conv1": {"weight_memory": "BRAM"}}})


def test_layer_setting_overrides_the_global_one():
    cfg = config_from_dict({"weight_memory": "lutram",
                            "layers": {"a": {"weight_memory": "bram"}, "b": {"pe": 2}}})
    assert [cfg.weight_memory_for(n) for n in ("a", "b", "c")] == ["bram", "lutram", "lutram"]
    assert config_from_dict({}).weight_memory_for("a") == "auto"
    assert cfg.to_json()["layers"]["a"] == {"weight_memory": "bram"}


def test_units_reject_an_unknown_placement():
    op, _, _ = mvu_layer(4, 6, 1, 1, "i4", "i4")
    for make in (lambda: dataclasses.replace(op, weight_mem="block"),
                 lambda: vvu.Params(np.ones((2, 9), np.int64), 0, op.weight_spec, weight_mem="x"),
                 lambda: synapse.Params(np.ones((2, 3), np.int64), op.weight_spec, weight_mem="")):
        with pytest.raises(InternalError, match="is not one of auto, bram, lutram, logic"):
            make()


def test_lowering_passes_the_option_to_the_units():
    cfg = {"weight_memory": "lutram", "layers": {}}
    g = archgen.load(fixture_path("cnn_w4a4"), config_from_dict(cfg)).graph
    units = [n for n in g.nodes if isinstance(n.op, (mvu.Params, vvu.Params))]
    assert len(units) >= 3 and {n.op.weight_mem for n in units} == {"lutram"}
    cfg["layers"] = {units[0].name: {"weight_memory": "bram"}}
    g = archgen.load(fixture_path("cnn_w4a4"), config_from_dict(cfg)).graph
    mems = {n.name: n.op.weight_mem for n in g.nodes if n.name in {u.name for u in units}}
    assert mems.pop(units[0].name) == "bram" and set(mems.values()) == {"lutram"}


# -- auto: by size, then the part's spare block RAM ---------------------------------------------

@pytest.mark.parametrize("depth,bits", [(16, 512), (32, 512), (256, 32), (512, 16), (512, 17),
                                        (4096, 2), (4096, 3), (2048, 16)])
def test_auto_is_yosys_placement_by_size(depth, bits):
    assert weight_placement("auto", depth, bits) == rom_kind(depth, bits)
    for mem in PLACEMENTS:
        assert weight_placement(mem, depth, bits) == mem


# the estimate's totals on xc7z020 with every ROM placed by size (auto before place_weights),
# default folding; the thresholds layers' LUTs as their compare terms count them
BY_SIZE = {"cnn_w4a4": {"LUT": 3776, "FF": 1922, "CARRY4": 358, "DSP": 3, "BRAM18": 1},
           "mlp_w6a6": {"LUT": 2507, "FF": 1290, "CARRY4": 183, "DSP": 6, "BRAM18": 1},
           "cnn_qdq_int8": {"LUT": 3979, "FF": 2054, "CARRY4": 824, "DSP": 14, "BRAM18": 4}}
XC7Z020 = get_part("xc7z020")


def _roms(hw):
    return [ly for ly in hw.layers if isinstance(ly.node.op, place_weights.ROMS)]


def _moved(hw):
    """The ROM layers in block RAM that their size alone puts in logic."""
    return [ly.node.name for ly in _roms(hw) if ly.hw["weight_mem"] == "bram"
            and rom_kind(ly.hw["weight_words"], ly.hw["weight_word_bits"]) == "logic"]


@pytest.mark.parametrize("name", list(BY_SIZE))
def test_auto_moves_to_block_ram_only_the_roms_that_save_luts(name):
    hw = plan(archgen.load(fixture_path(name), config_from_dict({})).graph)
    moved = []
    for ly in _roms(hw):
        d, op = ly.hw, ly.node.op
        by_size = rom_kind(d["weight_words"], d["weight_word_bits"])
        assert d["weight_mem"] == {"auto": by_size, "bram": "bram"}[op.weight_mem]
        text = verilog.layer_files("l", op, ly.ins, ly.outs)["l.v"]
        assert f'.WEIGHT_MEM("{d["weight_mem"]}")' in text
        if d["weight_mem"] != by_size:
            moved.append(ly.node.name)
            logic = resources(dataclasses.replace(op, weight_mem="logic"), ly.ins, ly.outs)
            bram = resources(op, ly.ins, ly.outs)
            blocks = bram.bram36 - logic.bram36
            assert blocks > 0 and logic.LUT - bram.LUT >= place_weights.MIN_SAVING * blocks
    assert moved  # each of these models has a small first-layer ROM worth a block
    # pinned where size puts them, the moved ROMs give back the by-size estimate
    pinned = config_from_dict({"layers": {n: {"weight_memory": "logic"} for n in moved}})
    by_size = estimate(plan(archgen.load(fixture_path(name), pinned).graph), XC7Z020).total
    assert {k: round(getattr(by_size, k)) for k in BY_SIZE[name]} == BY_SIZE[name]
    total = estimate(hw, XC7Z020).total
    assert total.LUT < by_size.LUT and total.bram36 > by_size.bram36


@pytest.fixture(scope="module")
def cnv_model(tmp_path_factory):
    """load(**options) of the CNV benchmark designs (bench/perf_sim.py: xc7z020 at 100 MHz,
    BNN-PYNQ's frame rates, the committed FIFO depths)."""
    import onnx
    from models import cnv

    folder = tmp_path_factory.mktemp("cnv")

    def load(wbits, **options):
        path = folder / f"cnv_w{wbits}a{wbits}.onnx"
        if not path.exists():
            onnx.save(cnv(wbits, wbits), path)
        name = f"cnv-w{wbits}a{wbits}"
        fps = next(f for w, _, f in perf_sim.CNV_CASES if w == wbits)
        return archgen.load(path, target_fps=fps, fifo_depths=perf_sim.cnv_fifos()[name],
                            **perf_sim.CNV_OPTIONS, **options)

    return load


def test_cnv_w1a1_spends_spare_block_ram_most_luts_saved_first(cnv_model, caplog):
    with caplog.at_level(logging.INFO, logger="archgen.passes"):
        hw = plan(cnv_model(1).graph)
    ratios = [float(m) for m in re.findall(r"weight ROM in block RAM \((\d+) LUT saved",
                                           caplog.text)]
    assert len(ratios) == 3 and ratios == sorted(ratios, reverse=True)
    moved = set(_moved(hw))
    assert moved == {"Conv_11", "Conv_15", "Gemm_37"}
    by_size = plan(cnv_model(1, layers={n: {"weight_memory": "logic"} for n in moved}).graph)
    est, est_by_size = estimate(hw, XC7Z020).total, estimate(by_size, XC7Z020).total
    assert est_by_size.LUT - est.LUT > 6000  # BNN-PYNQ's 26,072 LUT needs about that
    assert est.bram36 <= place_weights.FILL * XC7Z020.BRAM36
    # a layer placed in the config stays there; the others still move
    kept = plan(cnv_model(1, layers={"Gemm_37": {"weight_memory": "logic"}}).graph)
    assert {ly.node.name: ly.hw["weight_mem"] for ly in _roms(kept)
            if ly.node.name in moved} == {"Gemm_37": "logic", "Conv_11": "bram", "Conv_15": "bram"}
    # and a global placement is taken as is
    everywhere = plan(cnv_model(1, weight_memory="logic").graph)
    assert {ly.hw["weight_mem"] for ly in _roms(everywhere)} == {"logic"}


def test_cnv_w2a2_block_ram_budget_stops_the_move(cnv_model, monkeypatch):
    """CNV-w2a2's Conv_11 would save LUTs too, but takes the design past 80% of the
    xc7z020's block RAM: the pass leaves it; a larger share lets it move."""
    hw = plan(cnv_model(2).graph)
    assert not _moved(hw) and any(ly.hw["weight_mem"] == "logic" for ly in _roms(hw))
    monkeypatch.setattr(place_weights, "FILL", 1.0)
    hw = plan(cnv_model(2).graph)
    assert _moved(hw) == ["Conv_11"]
    assert estimate(hw, XC7Z020).total.bram36 > 0.8 * XC7Z020.BRAM36


def test_part_outside_the_table_keeps_the_placement_by_size():
    """The HLS backend takes any part; the estimate has no block RAM figures for it."""
    g = archgen.load(fixture_path("mlp_w2a2"), part="xcu50-fsvh2104-2-e").graph
    for n in g.nodes:
        if isinstance(n.op, place_weights.ROMS):
            assert n.op.weight_mem == "auto"


def test_hls_header_binds_the_chosen_storage():
    small = mvu_layer(8, 12, 2, 3, "u8", "i4", 100, (3,))  # 16 words of 24 bits: logic
    assert mvu.derive(*small)["weight_mem"] == "logic"
    for mem, impl in (("auto", "lutram"), ("bram", "bram"), ("lutram", "lutram"),
                      ("logic", "lutram")):
        text = hls.layer_files("k", *placed(small, mem))["k.h"]
        assert f"type=rom_1p impl={impl}\n" in text, mem
    deep = mvu_layer(32, 256, 1, 4, "u4", "i4")  # 2048 words of 16 bits: block RAM
    assert "impl=bram" in hls.layer_files("k", *deep)["k.h"]
    assert "impl=lutram" in hls.layer_files("k", *placed(deep, "lutram"))["k.h"]
    for case in (vvu_layer(8, 9, 2, "i4", "i4"), synapse_layer(6, 12, 2, 3, "u3")):
        for mem, impl in (("bram", "bram"), ("lutram", "lutram")):
            text = hls.layer_files("k", *placed(case, mem))["k.h"]
            assert f"impl={impl}\n" in text and f"ROM ({mem})" in text


# -- the estimate follows the placement --------------------------------------------------------

def test_estimate_costs_the_memory_where_it_is_placed():
    # a CNV-like 36 x 2048-bit ROM (yosys: logic) and one that auto puts in block RAM
    wide = mvu_layer(64, 576, 4, 64, "u2", "i2")  # 144 words of 512 bits
    d = mvu.derive(*wide)
    assert (d["weight_words"], d["weight_word_bits"], d["weight_mem"]) == (144, 512, "logic")
    auto, bram, lut, logic = (resources(*placed(wide, m)) for m in ("auto",) + PLACEMENTS)
    assert auto == logic == lut  # LUTs as 64 x 1 ROMs either way
    assert bram.BRAM18 + 2 * bram.BRAM36 >= 512 * 144 / (18 * 1024) and not auto.BRAM36
    assert auto.LUT - bram.LUT > 1000
    for case in (vvu_layer(64, 9, 32, "i4", "i4"), synapse_layer(64, 96, 16, 8, "i4")):
        auto, bram, lut, logic = (resources(*placed(case, m)) for m in ("auto",) + PLACEMENTS)
        d = unit_of(case[0]).derive(*case)
        assert auto == {"bram": bram, "logic": logic}[rom_kind(d["weight_words"],
                                                                d["weight_word_bits"])]
        assert lut == logic and not lut.BRAM18 + lut.BRAM36
        assert bram.BRAM18 + bram.BRAM36 > 0 and bram.LUT < lut.LUT


# -- RTL: the attribute works in every tool ----------------------------------------------------

def test_lint_every_placement(tmp_path):
    cases = {"mvu": mvu_layer(8, 12, 2, 3, "u8", "i4", 100, (3,)),
             "vvu": vvu_layer(6, 4, 2, "u8", "i4", 100, (2, 3)),
             "synapse": synapse_layer(6, 12, 2, 3, "u3")}
    for kind, case in cases.items():
        unit = unit_of(case[0])
        for mem in PLACEMENTS:
            for rom in (False, True):
                top = f"{kind}_{mem}_{int(rom)}"
                files = verilog.layer_files(top, *placed(case, mem),
                                            rom_bits=0 if rom else 1 << 30)
                for fname, text in files.items():
                    (tmp_path / fname).write_text(text)
                assert f'.WEIGHT_MEM("{mem}")' in files[f"{top}.v"]
                lint((tmp_path / f"{top}.v",) + rtl(*unit.CELLS), top, cwd=tmp_path)


@pytest.mark.sim
@pytest.mark.parametrize("mem,rom", [("bram", False), ("lutram", True)])
def test_placed_mvu_is_bit_exact_icarus(tmp_path, mem, rom):
    op, ins, outs = placed(mvu_layer(8, 12, 2, 3, "u8", "i4", 100, (3,), seed=4), mem)
    res = run_unit(tmp_path, "icarus", op, ins, outs, inputs(ins, 3, 4),
                   rom_bits=0 if rom else None, stall=0.3, seed=5)
    d = mvu.derive(op, ins, outs)
    assert res["interval_cycles"] == d["cycles"]
    assert res["latency_cycles"] == d["cycles"] + d["pipeline_cycles"]


def _synth(tmp_path, op, ins, outs):
    files = verilog.layer_files("dut", op, ins, outs, rom_bits=0)  # weights from a .mem file
    for fname, text in files.items():
        (tmp_path / fname).write_text(text)
    return synth((tmp_path / "dut.v",) + rtl(*mvu.CELLS), "dut", cwd=tmp_path)


@pytest.mark.synth
def test_synth_bram_where_yosys_would_use_logic(tmp_path):
    """256 words of 32 bits: yosys alone builds logic; ``bram`` gives the estimate's block RAM."""
    op, ins, outs = placed(mvu_layer(32, 64, 2, 4, "u4", "i4", seed=2), "bram")
    d = mvu.derive(op, ins, outs)
    assert (d["weight_words"], d["weight_word_bits"]) == (256, 32)
    assert rom_kind(256, 32) == "logic" and d["weight_mem"] == "bram"
    est = mvu.resources(op, d, get_part("xc7z020"))
    cells = _synth(tmp_path, op, ins, outs)
    print("mvu 256 x 32-bit ROM, bram:", cells)
    assert (cells.get("RAMB18E1", 0), cells.get("RAMB36E1", 0)) == (est.BRAM18, est.BRAM36) \
        == (1, 0)


@pytest.mark.synth
def test_synth_lutram_where_yosys_would_use_block_ram(tmp_path):
    """512 words of 32 bits: yosys alone uses a RAMB18; ``lutram`` keeps it in LUTs."""
    op, ins, outs = placed(mvu_layer(32, 128, 2, 4, "u4", "i4", seed=3), "lutram")
    d = mvu.derive(op, ins, outs)
    assert (d["weight_words"], d["weight_word_bits"]) == (512, 32)
    assert rom_kind(512, 32) == "bram" and d["weight_mem"] == "lutram"
    est = mvu.resources(op, d, get_part("xc7z020"))
    cells = _synth(tmp_path, op, ins, outs)
    print("mvu 512 x 32-bit ROM, lutram:", cells, "estimate LUT", est.LUT)
    assert not any(c.startswith("RAMB") for c in cells) and est.BRAM18 == est.BRAM36 == 0
    luts = sum(n for c, n in cells.items() if c.startswith("LUT"))
    assert 0.6 * est.LUT < luts < 1.4 * est.LUT
