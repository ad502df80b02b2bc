"""Bad input through the CLI: exit 2, exactly one line on stderr, no traceback, and the
file, node or option at fault named in the message."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from archgen.cli import main

import qonnx_models as qm


def check(capsys, argv, *needles, code=2):
    got = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert got == code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("archgen: error: "), lines[0]
    for n in needles:
        assert str(n) in lines[0], (n, lines[0])
    return lines[0]


@pytest.fixture
def x_file(tmp_path):
    p = tmp_path / "x.npy"
    np.save(p, qm.inputs())
    return p


@pytest.fixture
def good(tmp_path):
    return qm.write(tmp_path / "good.onnx", qm.mlp_model())


def golden(model, x, tmp_path):
    return ["golden", model, "-i", x, "-o", tmp_path / "y.npy"]


# -- model files ----------------------------------------------------------------------------
def test_truncated_onnx(capsys, tmp_path, x_file):
    bad = tmp_path / "trunc.onnx"
    bad.write_bytes(qm.mlp_bytes()[:100])
    check(capsys, golden(bad, x_file, tmp_path), bad)


def test_text_file_named_onnx(capsys, tmp_path, x_file):
    bad = tmp_path / "text.onnx"
    bad.write_text("this is not a model\nat all\n")
    check(capsys, golden(bad, x_file, tmp_path), bad)


def test_missing_model(capsys, tmp_path, x_file):
    bad = tmp_path / "missing.onnx"
    check(capsys, golden(bad, x_file, tmp_path), bad)


def test_empty_model(capsys, tmp_path, x_file):
    bad = tmp_path / "empty.onnx"
    bad.write_bytes(b"")
    check(capsys, golden(bad, x_file, tmp_path), bad)


def test_unknown_extension(capsys, tmp_path, x_file):
    bad = tmp_path / "model.pt"
    bad.write_bytes(qm.mlp_bytes())
    check(capsys, golden(bad, x_file, tmp_path), bad, ".onnx")


def _einsum(src, name):
    return helper.make_node("Einsum", [src], [name], name="my_einsum", equation="bi->bi"), []


def _lstm(src, name):
    from onnx import numpy_helper

    inits = [numpy_helper.from_array(np.zeros((1, 8, 4), np.float32), "lw"),
             numpy_helper.from_array(np.zeros((1, 8, 2), np.float32), "lr")]
    return helper.make_node("LSTM", [src, "lw", "lr"], [name], name="my_lstm", hidden_size=2), inits


@pytest.mark.parametrize("make,node,op", [(_einsum, "my_einsum", "Einsum"), (_lstm, "my_lstm", "LSTM")])
def test_unsupported_op(capsys, tmp_path, x_file, make, node, op):
    bad = qm.write(tmp_path / "unsup.onnx", qm.mlp_model(extra_nodes=[make]))
    line = check(capsys, golden(bad, x_file, tmp_path), bad, node, op)
    assert "Gemm" in line and "Quant" in line  # lists what is supported


def test_dynamic_feature_dim(capsys, tmp_path, x_file):
    bad = qm.write(tmp_path / "dyn.onnx", qm.mlp_model(input_dims=["N", "features"]))
    check(capsys, golden(bad, x_file, tmp_path), bad, "features")


def test_nan_weight(capsys, tmp_path, x_file):
    w = np.ones((4, 8), np.float32)
    w[1, 2] = np.nan
    bad = qm.write(tmp_path / "nanw.onnx", qm.mlp_model(weight=w))
    check(capsys, golden(bad, x_file, tmp_path), bad, "'w'", "NaN")


# -- input data -------------------------------------------------------------------------------
def test_input_shape_mismatch(capsys, tmp_path, good):
    x = tmp_path / "x5.npy"
    np.save(x, np.zeros((3, 5), np.float32))
    check(capsys, golden(good, x, tmp_path), x, "(3, 5)")


def test_nan_input(capsys, tmp_path, good):
    x = tmp_path / "xnan.npy"
    a = qm.inputs()
    a[2, 3] = np.nan
    np.save(x, a)
    check(capsys, golden(good, x, tmp_path), x, "NaN")


def test_missing_input(capsys, tmp_path, good):
    x = tmp_path / "nothere.npy"
    check(capsys, golden(good, x, tmp_path), x)


def test_unreadable_input(capsys, tmp_path, good):
    x = tmp_path / "garbage.npy"
    x.write_bytes(b"\x93NUMPY garbage")
    check(capsys, golden(good, x, tmp_path), x)


def test_pickled_input_refused(capsys, tmp_path, good):
    x = tmp_path / "obj.npy"
    np.save(x, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    check(capsys, golden(good, x, tmp_path), x)


def test_string_input(capsys, tmp_path, good):
    x = tmp_path / "str.npy"
    np.save(x, np.array([["a"] * 8]))
    check(capsys, golden(good, x, tmp_path), x)


def test_output_folder_missing(capsys, tmp_path, good, x_file):
    y = tmp_path / "no" / "such" / "y.npy"
    check(capsys, ["golden", good, "-i", x_file, "-o", y], y)


# -- configuration ----------------------------------------------------------------------------
def test_unknown_config_key(capsys, tmp_path, good, x_file):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("default_precision: fixed<8,3>\nfrobnication: 3\n")
    check(capsys, golden(good, x_file, tmp_path) + ["--config", cfg], cfg, "frobnication")


def test_missing_config(capsys, tmp_path, good, x_file):
    cfg = tmp_path / "nope.yaml"
    check(capsys, golden(good, x_file, tmp_path) + ["--config", cfg], cfg)


def test_invalid_yaml(capsys, tmp_path, good, x_file):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("a: [1, 2\n")
    check(capsys, golden(good, x_file, tmp_path) + ["--config", cfg], cfg)


@pytest.mark.parametrize("prec", ["fixed<a>", "float32", "fixed<64,3>", "int<8,2>"])
def test_bad_precision(capsys, tmp_path, good, x_file, prec):
    check(capsys, golden(good, x_file, tmp_path) + ["--default-precision", prec], prec)


def test_unknown_layer_in_config(capsys, tmp_path, good, x_file):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("layers:\n  no_such_layer:\n    pe: 2\n")
    argv = golden(good, x_file, tmp_path) + ["--config", cfg]
    check(capsys, argv, "no_such_layer")


def test_non_empty_foreign_output_folder(capsys, tmp_path, good):
    out = tmp_path / "proj"
    out.mkdir()
    (out / "design.v").write_text("module x; endmodule\n")
    check(capsys, ["generate", good, "-o", out], out)
    assert (out / "design.v").read_text() == "module x; endmodule\n"


def test_output_folder_is_a_file(capsys, tmp_path, good):
    out = tmp_path / "afile"
    out.write_text("x")
    check(capsys, ["generate", good, "-o", out], out)


# -- malformed protobufs (found by tests/test_fuzz_loader.py) --------------------------------
def _quant_3_inputs(tmp_path):
    m = qm.mlp_model()
    del m.graph.node[0].input[3]  # Quant without its bit-width input
    return qm.write(tmp_path / "quant3.onnx", m)


def _untyped_rounding_mode(tmp_path):
    m = qm.mlp_model()
    next(a for a in m.graph.node[0].attribute if a.name == "rounding_mode").type = 0
    return qm.write(tmp_path / "untyped_attr.onnx", m)


def _non_utf8_name(tmp_path):
    data = qm.mlp_bytes().replace(b"quant_in_scale", b"\x80uant_in_scale", 1)
    return qm.write(tmp_path / "non_utf8.onnx", data)


@pytest.mark.parametrize("make", [_quant_3_inputs, _untyped_rounding_mode, _non_utf8_name])
def test_malformed_protobuf(capsys, tmp_path, x_file, make):
    bad = make(tmp_path)
    check(capsys, golden(bad, x_file, tmp_path), bad)
