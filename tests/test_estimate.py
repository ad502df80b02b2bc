"""The analytic estimate (gen/archgen/estimate/model.py) on the fixtures: parts, cycle
figures, purity; `archgen report` on Verilog and HLS projects, with and without --synth."""

from __future__ import annotations

import json

import pytest
from cellsim import need_yosys
from conftest import MODELS, fixture_path

import archgen
from archgen.backends.hardware import plan
from archgen.cli import main
from archgen.config import config_from_dict
from archgen.errors import ConfigError
from archgen.estimate import KEYS, PARTS, estimate, get_part
from archgen.project import write_project

FIXTURES = [m for m in MODELS if m not in ("mlp_w6a6_nobias", "mlp_w6a6_matmul")]
FAST = {"target_fps": 10_000.0, "clock_mhz": 100.0}


def hardware(name, cfg=None):
    return plan(archgen.load(fixture_path(name), config_from_dict(cfg or {})).graph)


@pytest.mark.parametrize("name", ["xc7z020clg400-1", "XCZU3EG-sbva484-1-e", "xcvu9p-flga2104-2L-e",
                                  "xczu9eg", "xcu250-figd2104-2L-e"])
def test_parts_resolve_from_full_part_names(name):
    p = get_part(name)
    assert name.lower().startswith(p.device)
    assert p.LUT > 0 and p.FF == 2 * p.LUT and p.BRAM18 == 2 * p.BRAM36
    assert p.family == ("xc7" if p.device.startswith("xc7") else "xcup")


def test_unknown_part_is_a_config_error_listing_the_known_ones():
    with pytest.raises(ConfigError, match=r"part 'xc9k999'.*xc7z020.*xcu250"):
        get_part("xc9k999")


@pytest.mark.parametrize("name", FIXTURES)
@pytest.mark.parametrize("folding", ["folded", "fast"])
def test_interval_is_the_slowest_layer_and_totals_add_up(name, folding):
    hw = hardware(name, FAST if folding == "fast" else None)
    est = estimate(hw, get_part("xc7z020"))
    assert est.interval == max(ly.hw["cycles"] for ly in hw.layers)
    assert est.bottleneck in {ly.name for ly in hw.layers}
    assert est.latency >= est.interval
    js = est.to_json()
    assert set(js["layers"]) == {ly.name for ly in hw.layers} | {"top"}
    for k in KEYS:
        assert js["total"][k] == pytest.approx(sum(v[k] for v in js["layers"].values()),
                                               abs=len(hw.layers) + 1)
        assert js["total"][k] >= 0
    assert js["total"]["LUT"] > 0 and js["total"]["FF"] > 0


def test_more_parallel_folding_costs_more_and_runs_faster():
    slow, fast = (estimate(hardware("cnn_w4a4", c), get_part("xc7z020")) for c in (None, FAST))
    assert fast.interval * 10 < slow.interval
    assert fast.total.LUT > slow.total.LUT


def test_utilization_is_against_the_part():
    hw = hardware("mlp_w6a6")
    small, big = (estimate(hw, p).utilization() for p in (get_part("xc7z020"), get_part("xcvu9p")))
    assert small["LUT"] > 10 * big["LUT"] > 0


def test_estimate_reads_the_plan_and_changes_nothing():
    hw = hardware("cnn_w4a4")
    before = [dict(ly.hw) for ly in hw.layers]
    a = estimate(hw, get_part("xc7z020")).to_json()
    b = estimate(hw, get_part("xc7z020")).to_json()
    assert a == b and [dict(ly.hw) for ly in hw.layers] == before


def test_parts_table_has_the_issue_parts():
    assert {"xc7z020", "xczu3eg", "xczu9eg", "xcvu9p", "xcu250"} <= {p.device for p in PARTS}


# -- archgen report ---------------------------------------------------------------------------

def test_report_on_an_hls_project_uses_the_same_estimate(tmp_path, capsys):
    m = archgen.load(fixture_path("mlp_w2a2"))
    write_project(m, tmp_path / "h", backends=("hls",))
    write_project(archgen.load(fixture_path("mlp_w2a2")), tmp_path / "v")
    assert main(["report", str(tmp_path / "h")]) == 0
    assert main(["report", str(tmp_path / "v")]) == 0
    h = json.loads((tmp_path / "h" / "reports" / "resources.json").read_text())
    v = json.loads((tmp_path / "v" / "reports" / "resources.json").read_text())
    assert h["backends"] == ["hls"] and h["estimate"] == v["estimate"]
    capsys.readouterr()
    assert main(["report", str(tmp_path / "h"), "--synth"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--synth" in err and str(tmp_path / "h") in err


@pytest.mark.synth
def test_report_synth_on_a_small_fixture_is_calibrated(tmp_path, capsys):
    """`archgen report --synth` on the binary MLP: resources.json has both sections in the
    contract's shape; every layer's DSP and BRAM counts equal yosys's, and the LUT estimate
    of every layer over 200 LUTs and of the total is within 25%."""
    need_yosys()
    d = tmp_path / "p"
    write_project(archgen.load(fixture_path("mlp_w1a1")), d)
    assert main(["report", str(d), "--synth", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "yosys synth_xilinx" in out
    data = json.loads((d / "reports" / "resources.json").read_text())
    assert data["part"] == "xc7z020"
    est, syn = data["estimate"], data["synth"]
    assert "synth_xilinx" in syn["tool"]
    assert set(est["layers"]) == set(syn["layers"])
    for name, y in syn["layers"].items():
        e = est["layers"][name]
        assert set(KEYS) <= set(y) and set(KEYS) <= set(e)
        for k in ("DSP", "BRAM18", "BRAM36"):
            assert e[k] == y[k], (name, k, e[k], y[k])
        if y["LUT"] > 200:
            assert abs(e["LUT"] - y["LUT"]) <= 0.25 * y["LUT"], (name, e["LUT"], y["LUT"])
    assert abs(est["total"]["LUT"] - syn["total"]["LUT"]) <= 0.25 * syn["total"]["LUT"]
