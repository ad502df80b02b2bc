"""The archgen command: in-process through archgen.cli.main, and as `python -m archgen`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import archgen
from archgen.cli import main

import qonnx_models as qm

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture
def model(tmp_path) -> Path:
    return qm.write(tmp_path / "tiny.onnx", qm.mlp_model())


@pytest.fixture
def x_file(tmp_path) -> Path:
    p = tmp_path / "x.npy"
    np.save(p, qm.inputs())
    return p


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_module(*argv, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "gen") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "archgen", *map(str, argv)], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


def assert_one_line_error(err: str, *needles):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert str(n) in lines[0], (n, lines[0])


# -- golden ---------------------------------------------------------------------------------
def test_golden_round_trip(capsys, model, x_file, tmp_path):
    y_path = tmp_path / "y.npy"
    code, _, err = run_cli(capsys, "golden", model, "-i", x_file, "-o", y_path)
    assert code == 0, err
    y = np.load(y_path)
    assert y.dtype == np.float64
    expected = archgen.load(model).golden(np.load(x_file))
    np.testing.assert_array_equal(y, expected)


def test_golden_overwrites_requested_output(capsys, model, x_file, tmp_path):
    y_path = tmp_path / "y.npy"
    y_path.write_bytes(b"old")
    assert run_cli(capsys, "golden", model, "-i", x_file, "-o", y_path)[0] == 0
    assert np.load(y_path).shape == (16, 4)


def test_golden_refuses_directory_output(capsys, model, x_file, tmp_path):
    code, _, err = run_cli(capsys, "golden", model, "-i", x_file, "-o", tmp_path)
    assert code == 2
    assert_one_line_error(err, tmp_path)


def test_golden_npz_input_and_output(capsys, model, tmp_path):
    x = qm.inputs()
    np.savez(tmp_path / "x.npz", x=x)
    code, _, err = run_cli(capsys, "golden", model, "-i", tmp_path / "x.npz", "-o", tmp_path / "y.npz")
    assert code == 0, err
    m = archgen.load(model)
    with np.load(tmp_path / "y.npz") as y:
        assert list(y.files) == list(m.graph.outputs)
        np.testing.assert_array_equal(y[m.graph.outputs[0]], m.golden(x))


@pytest.mark.parametrize("name", ["mlp_w6a6", "mlp_w1a1"])
def test_golden_on_fixture(capsys, tmp_path, name):
    onnx_path, npz = FIXTURES / f"{name}.onnx", FIXTURES / f"{name}.npz"
    if not onnx_path.is_file() or not npz.is_file():
        pytest.skip(f"fixture {onnx_path.name} not present (run `make fixtures`)")
    with np.load(npz) as d:
        np.save(tmp_path / "x.npy", d["x"])
    code, _, err = run_cli(capsys, "golden", onnx_path, "-i", tmp_path / "x.npy", "-o", tmp_path / "y.npy")
    assert code == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"),
                                  archgen.load(onnx_path).golden(np.load(tmp_path / "x.npy")))


# -- generate --------------------------------------------------------------------------------
def test_generate_is_deterministic(capsys, model, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_cli(capsys, "generate", model, "-o", a)[0] == 0
    assert run_cli(capsys, "generate", model, "-o", b)[0] == 0
    for name in ("ir.json", "ir.txt", "source_ir.txt"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    ir = json.loads((a / "ir.json").read_text())
    assert ir["name"] == "tiny_mlp"
    text = (a / "ir.json").read_text() + (a / "manifest.json").read_text()
    assert str(tmp_path) not in text  # no absolute paths
    manifest = json.loads((a / "manifest.json").read_text())
    assert manifest["generator"] == "archgen"
    assert manifest["model"]["file"] == "tiny.onnx"
    assert len(manifest["model"]["sha256"]) == 64
    assert {"ir.json", "ir.txt", "source_ir.txt", "model/tiny.onnx", "rtl/tiny_mlp.v",
            "sim/vectors.json"} <= set(manifest["files"])
    assert manifest["backends"] == ["verilog"]  # the default backend
    for name in manifest["files"]:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert manifest["versions"]["archgen"] == archgen.__version__


def test_generate_refuses_foreign_folder(capsys, model, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "ir.json").write_text("mine")
    (out / "notes.txt").write_text("keep me")
    code, _, err = run_cli(capsys, "generate", model, "-o", out)
    assert code == 2
    assert_one_line_error(err, out, "--force")
    assert (out / "ir.json").read_text() == "mine"
    assert (out / "notes.txt").read_text() == "keep me"
    assert not (out / "manifest.json").exists()


def test_generate_force_keeps_foreign_files(capsys, model, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    code, _, err = run_cli(capsys, "generate", model, "-o", out, "--force")
    assert code == 0, err
    assert (out / "notes.txt").read_text() == "keep me"
    assert json.loads((out / "ir.json").read_text())["name"] == "tiny_mlp"


def test_regenerate_into_own_folder(capsys, model, tmp_path):
    out = tmp_path / "out"
    assert run_cli(capsys, "generate", model, "-o", out)[0] == 0
    first = (out / "ir.json").read_bytes()
    (out / "user_notes.txt").write_text("keep me")
    code, _, err = run_cli(capsys, "generate", model, "-o", out, "--clock-mhz", "150")
    assert code == 0, err
    assert (out / "ir.json").read_bytes() == first  # the clock alone changes no layer
    assert (out / "user_notes.txt").read_text() == "keep me"
    assert json.loads((out / "manifest.json").read_text())["config"]["clock_mhz"] == 150
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]  # atomic writes leave nothing


def test_regenerate_refuses_foreign_file_with_our_name(capsys, model, tmp_path):
    out = tmp_path / "out"
    assert run_cli(capsys, "generate", model, "-o", out)[0] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"].remove("ir.txt")  # as if ir.txt were the user's
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "ir.txt").write_text("user")
    code, _, err = run_cli(capsys, "generate", model, "-o", out)
    assert code == 2
    assert_one_line_error(err, "ir.txt")
    assert (out / "ir.txt").read_text() == "user"


def test_get_backend_names_the_valid_ones():
    from archgen.backends import get_backend
    from archgen.errors import ConfigError

    with pytest.raises(ConfigError, match=r"--backend: 'vhdl' is not one of verilog, hls, all"):
        get_backend("vhdl")


def test_generate_target_fps_needs_clock(capsys, model, tmp_path):
    code, _, err = run_cli(capsys, "generate", model, "-o", tmp_path / "o", "--target-fps", "1000")
    assert code == 2
    assert_one_line_error(err, "--target-fps", "--clock-mhz")


def test_generate_records_options(capsys, model, tmp_path):
    out = tmp_path / "o"
    code, _, err = run_cli(capsys, "generate", model, "-o", out, "--target-fps", "1000",
                           "--clock-mhz", "200", "--part", "xcu250-figd2104-2L-e")
    assert code == 0, err
    m = json.loads((out / "manifest.json").read_text())
    assert m["config"]["clock_mhz"] == 200.0 and m["config"]["target_fps"] == 1000.0
    assert m["options"]["part"] == "xcu250-figd2104-2L-e"


def test_dump_ir(capsys, model, x_file, tmp_path):
    from archgen.passes import PIPELINE

    dump = tmp_path / "dump"
    code, _, err = run_cli(capsys, "--dump-ir", dump, "golden", model, "-i", x_file, "-o", tmp_path / "y.npy")
    assert code == 0, err
    assert sorted(p.name for p in dump.iterdir()) == [f"{k:02d}_{p.__name__}.txt"
                                                      for k, p in enumerate(PIPELINE)]


def test_verbose_logs_passes(capsys, model, x_file, tmp_path):
    import logging

    from archgen.passes import PIPELINE

    try:
        code, _, err = run_cli(capsys, "golden", model, "-i", x_file, "-o", tmp_path / "y.npy", "-v")
    finally:
        logging.getLogger().handlers.clear()
        logging.getLogger().setLevel(logging.WARNING)
    assert code == 0
    for p in PIPELINE:
        assert p.__name__ in err


# -- other commands, usage -------------------------------------------------------------------
def test_dse_missing_model(capsys, tmp_path):
    code, out, err = run_cli(capsys, "dse", tmp_path / "m.onnx", "-o", tmp_path / "d",
                             "--trials", "3")
    assert code == 2
    assert err.strip() == f"archgen: error: {tmp_path / 'm.onnx'}: model file not found"


@pytest.mark.parametrize("argv", [[], ["golden"], ["generate", "m.onnx"], ["frobnicate"],
                                  ["generate", "m.onnx", "-o", "d", "--backend", "vhdl"],
                                  ["generate", "m.onnx", "-o", "d", "--clock-mhz", "fast"]])
def test_usage_errors(capsys, argv):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert_one_line_error(err, "error")


def test_version(capsys):
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and archgen.__version__ in out


def test_internal_error_is_one_line(capsys, model, x_file, tmp_path, monkeypatch):
    def boom(*a, **k):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(archgen, "load", boom)
    code, _, err = run_cli(capsys, "golden", model, "-i", x_file, "-o", tmp_path / "y.npy")
    assert code == 3
    assert_one_line_error(err, "internal error", "ZeroDivisionError", "boom", "-v")


def test_demo(capsys, tmp_path, monkeypatch):
    if not (FIXTURES / "mlp_w6a6.onnx").is_file():
        pytest.skip("fixture mlp_w6a6.onnx not present (run `make fixtures`)")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "demo")
    assert code == 0, err
    assert "archgen demo:" in out.strip().splitlines()[-1]
    assert (tmp_path / "archgen-demo" / "manifest.json").is_file()
    res = json.loads((tmp_path / "archgen-demo" / "reports" / "resources.json").read_text())
    assert res["estimate"]["total"]["LUT"] > 0 and "estimated on xc7z020" in out
    assert (tmp_path / "archgen-demo" / "reports" / "report.html").is_file()
    from archgen import simulate

    if simulate.available("verilator") is None:  # the demo simulates the RTL too
        assert "RTL == golden model on all 8 frames" in out
        sim = json.loads((tmp_path / "archgen-demo" / "reports" / "sim.json").read_text())
        assert sim["mismatches"] == 0 and sim["frames"] == 8
    assert run_cli(capsys, "demo")[0] == 0  # its own folder: regenerates


# -- as a process ------------------------------------------------------------------------------
def test_module_golden_and_missing_file(model, x_file, tmp_path):
    r = run_module("golden", model, "-i", x_file, "-o", tmp_path / "y.npy")
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), archgen.load(model).golden(np.load(x_file)))
    missing = tmp_path / "nope.onnx"
    r = run_module("golden", missing, "-i", x_file, "-o", tmp_path / "y.npy")
    assert r.returncode == 2
    assert_one_line_error(r.stderr, missing)


def test_module_foreign_folder(model, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "x").write_text("x")
    r = run_module("generate", model, "-o", out)
    assert r.returncode == 2
    assert_one_line_error(r.stderr, out)
    assert r.stdout == ""
