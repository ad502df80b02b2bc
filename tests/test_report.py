"""`archgen report DIR` without synthesis (fast): resources.json's contract, a self-contained
and deterministic report.html, the simulators' and Vitis HLS's figures beside the estimate,
and one-line errors (exit 2) for bad input; render_report on 1 and 60 layers."""

from __future__ import annotations

import json
import re
import shutil

import matplotlib
import pytest
from conftest import FIXTURES, fixture_path

from archgen.cli import main
from archgen.errors import ConfigError
from archgen.estimate import KEYS
from archgen.estimate.html import render_report
from archgen.estimate.vitis import read_csynth

MODEL = "cnn_w4a4"  # convolutions, windows, pools, an add: many kinds of layer
CSYNTH = FIXTURES / "csynth_example.xml"
CSYNTH_AT = "hls/x_prj/solution1/syn/report/csynth.xml"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    d = tmp_path_factory.mktemp("report") / "prj"
    assert main(["generate", str(fixture_path(MODEL)), "-o", str(d)]) == 0
    return d


@pytest.fixture
def project(generated, tmp_path):
    """A fresh copy of the generated project (tests add files to it)."""
    return shutil.copytree(generated, tmp_path / "prj")


def report(capsys, *argv):
    code = main(["report", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def outputs(d):
    return (json.loads((d / "reports" / "resources.json").read_text()),
            (d / "reports" / "report.html").read_text())


def assert_one_line_error(err: str, *needles):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for n in needles:
        assert str(n) in lines[0], (n, lines[0])


def assert_self_contained(page: str):
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"<script|<link|<iframe|<img|@import|url\((?!#)", page, re.I)


# -- the report on a generated project --------------------------------------------------------

def test_report_writes_the_contract_and_a_self_contained_page(project, capsys):
    code, out, err = report(capsys, project)
    assert code == 0, err
    data, page = outputs(project)
    assert data["part"] == "xc7z020"
    est = data["estimate"]
    assert set(KEYS) == {"LUT", "FF", "DSP", "BRAM36", "BRAM18", "CARRY4"}
    for row in [est["total"], *est["layers"].values()]:
        assert all(isinstance(row[k], int) and row[k] >= 0 for k in KEYS), row
    assert "top" in est["layers"] and len(est["layers"]) > 10
    assert "synth" not in data and "vitis_hls" not in data and "sim" not in data
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert_self_contained(page)
    for name in est["layers"]:
        assert name in page
    bottleneck = est["bottleneck"]
    assert bottleneck in est["layers"]
    assert re.search(rf'<tr class="bottleneck">.*?{re.escape(bottleneck)}', page)
    assert page.count("<svg") == 3  # utilization, cycles per layer, resources per layer


def test_report_is_deterministic(project, capsys):
    assert report(capsys, project)[0] == 0
    first = [(project / "reports" / f).read_bytes() for f in ("resources.json", "report.html")]
    assert report(capsys, project)[0] == 0
    assert first == [(project / "reports" / f).read_bytes() for f in ("resources.json", "report.html")]


def test_simulated_cycles_appear_beside_the_analytic_ones(project, capsys):
    sim = {"frames": 3, "mismatches": 0, "latency_cycles": 123457, "interval_cycles": 98765,
           "cycles_total": 321012, "simulator": "verilator", "clock_mhz": 250.0,
           "frames_per_second": 2531.261}
    csim = dict(sim, latency_cycles=111119, interval_cycles=87654, simulator="g++")
    (project / "reports").mkdir(exist_ok=True)
    (project / "reports" / "sim.json").write_text(json.dumps(sim))
    (project / "reports" / "csim.json").write_text(json.dumps(csim))
    assert report(capsys, project)[0] == 0
    data, page = outputs(project)
    assert data["sim"] == sim and data["csim"] == csim
    for text in ("RTL simulation", "C simulation", "123,457", "98,765", "111,119", "87,654",
                 "2,531", "100 MHz"):
        assert text in page, text


def test_vitis_hls_figures_appear_beside_ours(project, capsys):
    target = project / CSYNTH_AT
    target.parent.mkdir(parents=True)
    shutil.copy(CSYNTH, target)
    assert report(capsys, project)[0] == 0
    data, page = outputs(project)
    v = data["vitis_hls"]
    assert v["resources"] == {"LUT": 3456, "FF": 2345, "DSP": 7, "BRAM_18K": 9, "URAM": 0}
    assert v["latency_cycles"] == {"best": 4311, "average": 4311, "worst": 4321}
    assert v["interval_cycles"] == {"min": 4097, "max": 4099}
    assert (v["target_clock_ns"], v["estimated_clock_ns"]) == (10.0, 7.261)
    assert v["top"] == "main_graph" and v["tool"] == "Vitis HLS 2022.2"
    for text in ("Vitis HLS 2022.2", "3,456", "2,345", "4,311 \u2013 4,321", "4,097 \u2013 4,099",
                 "7.261 ns"):
        assert text in page, text
    assert_self_contained(page)


@pytest.mark.parametrize("text", ["<profile><AreaEstimates><Resources>", "not xml at all",
                                  "<html><body/></html>"])
def test_a_bad_csynth_report_is_one_line_naming_the_file(project, capsys, text):
    target = project / CSYNTH_AT
    target.parent.mkdir(parents=True)
    target.write_text(text)
    code, _, err = report(capsys, project)
    assert code == 2
    assert_one_line_error(err, target, "csynth.xml")


def test_a_folder_that_is_not_a_project_is_one_line(tmp_path, capsys):
    (tmp_path / "stuff").mkdir()
    for d in (tmp_path / "stuff", tmp_path / "missing"):
        code, _, err = report(capsys, d)
        assert code == 2
        assert_one_line_error(err, d)


def test_part_option_changes_the_utilization(project, capsys):
    # another 7-series part: the same cells (an UltraScale+ one may differ: its DSPs pack
    # nothing, see Part.dsp_packs), a larger device
    assert report(capsys, project)[0] == 0
    small, _ = outputs(project)
    code, _, err = report(capsys, project, "--part", "xc7a100t")
    assert code == 0, err
    big, page = outputs(project)
    assert big["part"] == "xc7a100t" and big["capacity"]["LUT"] > small["capacity"]["LUT"]
    assert big["estimate"]["total"] == small["estimate"]["total"]
    assert big["estimate"]["utilization_percent"]["LUT"] < small["estimate"]["utilization_percent"]["LUT"]
    assert "xc7a100t" in page and f"{big['capacity']['LUT']:,}" in page


def test_unknown_part_is_one_line_naming_it(project, capsys):
    code, _, err = report(capsys, project, "--part", "xc9k999")
    assert code == 2
    assert_one_line_error(err, "xc9k999")


# -- Vitis HLS's csynth.xml -------------------------------------------------------------------

def test_read_csynth_takes_old_names_and_undefined_figures(tmp_path):
    f = tmp_path / "csynth.xml"
    f.write_text("<profile><ReportVersion><Version>2019.2</Version></ReportVersion>"
                 "<UserAssignments><TargetClockPeriod>5.00</TargetClockPeriod></UserAssignments>"
                 "<PerformanceEstimates><SummaryOfOverallLatency><Best-caseLatency>12"
                 "</Best-caseLatency><Worst-caseLatency>undef</Worst-caseLatency>"
                 "</SummaryOfOverallLatency></PerformanceEstimates><AreaEstimates><Resources>"
                 "<BRAM_18K>2</BRAM_18K><DSP48E>5</DSP48E><FF>10</FF><LUT>20</LUT></Resources>"
                 "</AreaEstimates></profile>")
    v = read_csynth(f)
    assert v["resources"] == {"LUT": 20, "FF": 10, "DSP": 5, "BRAM_18K": 2, "URAM": None}
    assert v["latency_cycles"] == {"best": 12, "average": None, "worst": None}
    assert v["target_clock_ns"] == 5.0 and v["estimated_clock_ns"] is None
    assert v["tool"] == "Vitis HLS 2019.2"


def test_read_csynth_names_a_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=re.escape(str(tmp_path / "no.xml"))):
        read_csynth(tmp_path / "no.xml")


# -- render_report on made-up data ------------------------------------------------------------

def fake(n: int, synth: bool) -> dict:
    def row(i, scale=1.0):
        return {"LUT": int(scale * (37 * i % 900)), "FF": int(scale * (23 * i % 500)), "DSP": i % 3,
                "BRAM36": i % 2, "BRAM18": (i // 2) % 2, "CARRY4": int(scale * (i % 40))}

    names = [f"layer_{i}" + ("_a_rather_long_block_name_from_the_model_" * (i % 5 == 1))
             + ("<b>&'\"$x$" if i == 2 else "") for i in range(n)]
    layers = {m: {**row(i + 1), "unit": "mvu", "module": f"m_{i}", "cycles": 1000 + 17 * i,
                  "pipeline": 4} for i, m in enumerate(names)}
    layers["top"] = {**row(0), "unit": "streams", "module": "top", "cycles": 0, "pipeline": 0}
    total = {k: sum(v[k] for v in layers.values()) for k in KEYS}
    cap = {"LUT": 53200, "FF": 106400, "DSP": 220, "BRAM36": 140, "BRAM18": 280, "CARRY4": 13300}
    data = {"part": "xc7z020", "part_name": "xc7z020clg400-1", "family": "xc7", "capacity": cap,
            "backends": ["verilog"],
            "estimate": {"total": total, "layers": layers, "bottleneck": names[-1],
                         "interval_cycles": layers[names[-1]]["cycles"], "latency_cycles": 99999,
                         "utilization_percent": {k: round(100 * total[k] / cap[k], 2) for k in KEYS}}}
    if synth:
        slayers = {m: row(i + 1, 1.2) for i, m in enumerate(layers)}
        data["synth"] = {"tool": "yosys", "layers": slayers,
                         "total": {k: sum(v[k] for v in slayers.values()) for k in KEYS},
                         "cells": {m: {"LUT6": 3, "FDRE": 2} for m in layers}}
    return data


@pytest.mark.parametrize("n,synth", [(1, False), (1, True), (60, True)])
def test_render_report_handles_one_to_sixty_layers(n, synth):
    backend, rc = matplotlib.get_backend(), dict(matplotlib.rcParams)
    data = fake(n, synth)
    page = render_report(data)
    if n == 1:  # same data, same bytes (the 60-layer page takes seconds to draw)
        assert render_report(data) == page
    assert matplotlib.get_backend() == backend and dict(matplotlib.rcParams) == rc
    assert_self_contained(page)
    assert "<b>&" not in page
    if n > 2:  # escaped in the plots too, and a $ is not matplotlib math there
        assert "layer_2&lt;b&gt;&amp;" in page[page.index("<svg"):] and "$x$" in page[page.index("<svg"):]
    for name in data["estimate"]["layers"]:
        assert name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") \
            .replace('"', "&quot;").replace("'", "&#x27;") in page
    assert ("Estimate vs. synthesis" in page) == synth
    assert "Clock</b> unknown" in page


def test_render_report_tolerates_missing_and_zero_figures():
    data = fake(3, False)
    for row in data["estimate"]["layers"].values():
        row.update(dict.fromkeys(KEYS, 0), cycles=0)
    data["estimate"].update(interval_cycles=0, latency_cycles=None, bottleneck=None)
    data["clock_mhz"] = 200.0
    page = render_report(data)
    assert "200 MHz" in page and "layer_0" in page
    assert render_report({"estimate": {}})  # nothing at all still renders a page
