"""The HLS backend on every fixture model: generate, C-simulate bit-exact against the golden
model, compile silently under -Wall -Wextra, keep to the synthesizable subset of C++, render
deterministically, and fail clearly (a mismatch, missing ap_types, the wrong backend)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import MODELS, fixture_input, fixture_path

import archgen
from archgen import csim
from archgen.cli import main
from archgen.project import write_project
from archgen.resources import resource_dir

# the fixtures of issue #2; the _nobias/_matmul variants are the same MLP
FIXTURES = [m for m in MODELS if m not in ("mlp_w6a6_nobias", "mlp_w6a6_matmul")]
FRAMES = 3  # frames C-simulated per fixture (the first frames of its .npz)
# the fixture the other C-simulation tests share (the quickest to compile: one g++ build)
SMALL = "mlp_float"
XILINX_HEADERS = ("ap_int.h", "hls_stream.h", "ap_axi_sdata.h")


def need_csim() -> None:
    why = csim.available()
    if why:
        pytest.skip(why)


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    """HLS project folders, one per fixture, generated once per test module."""
    cache = {}

    def get(name):
        if name not in cache:
            d = tmp_path_factory.mktemp(name)
            write_project(archgen.load(fixture_path(name)), d, backends=("hls",))
            cache[name] = d
        return cache[name]

    return get


def top_of(d: Path) -> str:
    return next((d / "hls" / "firmware").glob("*.cpp")).stem


# -- generation -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", FIXTURES)
def test_generate_writes_a_complete_folder(projects, name):
    d = projects(name)
    top = top_of(d)
    for f in (f"firmware/{top}.cpp", f"firmware/{top}.h", "firmware/axis_io.h", "tb/tb.cpp",
              "tb/tb_data/inputs.txt", "tb/tb_data/expected.txt", "build_prj.tcl", "README.md"):
        assert (d / "hls" / f).is_file(), f
    manifest = json.loads((d / "manifest.json").read_text())
    assert manifest["backends"] == ["hls"]
    on_disk = {str(p.relative_to(d)) for p in d.rglob("*") if p.is_file()}
    assert on_disk - {"manifest.json"} == set(manifest["files"]) - {"manifest.json"}
    assert not (d / "rtl").exists()
    # every header the firmware includes is in the folder (self-contained), but Xilinx's
    fw = d / "hls" / "firmware"
    for f in fw.iterdir():
        for inc in re.findall(r'#include "([^"]+)"', f.read_text()):
            assert inc in XILINX_HEADERS or (fw / inc).is_file(), (f.name, inc)


def test_top_function_wiring(projects):
    """One call per layer, one stream per edge with the plan's depth, a fork where a tensor
    feeds two layers (the residual CNN), AXI4-Stream pragmas and DATAFLOW."""
    from archgen.backends.hardware import plan

    d = projects("cnn_w4a4")
    hw = plan(archgen.load(fixture_path("cnn_w4a4")).graph)
    text = (d / "hls" / "firmware" / f"{top_of(d)}.cpp").read_text()
    for pragma in ("INTERFACE axis port=s_axis", "INTERFACE axis port=m_axis",
                   "INTERFACE ap_ctrl_none port=return", "DATAFLOW"):
        assert f"#pragma HLS {pragma}" in text
    for ly in hw.layers:
        assert len(re.findall(rf"^    {ly.module}\(", text, re.M)) == 1, ly.module
    forked = [s for s in hw.streams if len(s.sinks) > 1]
    assert forked and text.count("archgen::fork<") == len(forked)
    for s in forked:
        for k in s.sinks:
            assert f"depth={k.fifo}" in text
    declared = re.findall(r"hls::stream<ap_uint<\d+> > (\w+)\(", text)
    depths = re.findall(r"#pragma HLS STREAM variable=(\w+) depth=(\d+)", text)
    assert [v for v, _ in depths] == declared


def test_width_converters_where_lanes_differ(tmp_path):
    """A folding whose lane counts differ between layers gets width converters from
    streams.h (up and down here; through the gcd when neither lane count divides the other),
    and words over 1024 bits raise AP_INT_MAX_W; C-simulates bit-exact."""
    from archgen.backends import hls
    from archgen.backends.hardware import plan
    from archgen.config import config_from_dict

    assert hls.width_steps(4, 6) == [2, 6] and hls.width_steps(2, 8) == [8]
    assert hls.width_steps(8, 2) == [2] and hls.width_steps(3, 3) == []
    cfg = config_from_dict({"layers": {"t_0_Gemm": {"pe": 8}, "t_3_Gemm": {"simd": 2, "pe": 4},
                                       "t_6_Gemm": {"simd": 16, "pe": 5}}})
    model = archgen.load(fixture_path(SMALL), cfg)
    hw = plan(model.graph)
    ctx = hls.top_context(hw, hw.top)
    widths = [tuple(map(int, c["targs"])) for c in ctx["calls"] if c["func"] == "archgen::width"]
    assert sorted(widths) == [(16, 4, 16, 32), (16, 8, 2, 32)] and ctx["need_streams"]
    write_project(model, tmp_path, backends=("hls",))
    top = (tmp_path / "hls" / "firmware" / f"{hw.top}.h").read_text()
    assert "#define AP_INT_MAX_W 2048" in top  # 5 x 16 weights of 16 bits per word
    need_csim()
    x = fixture_input(SMALL)[:FRAMES]
    res = csim.csim_project(tmp_path, [x])
    assert np.array_equal(res.outputs[0], model.golden(x))


# -- C simulation ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_csim_bit_exact(projects, name):
    need_csim()
    d = projects(name)
    x = fixture_input(name)[:FRAMES]
    res = csim.csim_project(d, [x])
    gold = archgen.load(fixture_path(name)).golden(x)
    for a, b in zip(res.outputs, gold if isinstance(gold, list) else [gold]):
        assert np.array_equal(a, b)
    rep = json.loads((d / "reports" / "csim.json").read_text())
    assert rep["frames"] == len(x) and rep["mismatches"] == 0 and rep["simulator"] == "csim"
    assert rep["cycles_source"] == "estimate"
    assert 0 < rep["interval_cycles"] <= rep["latency_cycles"]
    assert rep["cycles_total"] == rep["latency_cycles"] + (len(x) - 1) * rep["interval_cycles"]
    # the same build (cached): no compiler warnings in the firmware or the testbench
    _, warnings = csim.build(*csim.project_sources(d), name="tb")
    assert warnings == ""


def test_folders_own_testbench_passes_on_its_data(projects):
    """tb/tb.cpp run as Vitis HLS runs it (in tb/, no arguments) on tb/tb_data."""
    need_csim()
    d = projects(SMALL)
    exe, _ = csim.build(*csim.project_sources(d), name="tb")
    work = d / "hls" / "tb"
    res = subprocess.run([str(exe)], cwd=work, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "all output beats equal the expected ones" in res.stdout
    assert (work / "tb_data" / "outputs.txt").read_text() == \
        (work / "tb_data" / "expected.txt").read_text()
    (work / "tb_data" / "outputs.txt").unlink()


def test_cli_csim_and_model_csim(projects, tmp_path, capsys):
    need_csim()
    name = SMALL
    d = projects(name)
    x = fixture_input(name)[:2]
    np.save(tmp_path / "x.npy", x)
    assert main(["csim", str(d), "-i", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy")]) == 0
    assert "2 frames bit-exact in C simulation" in capsys.readouterr().out
    model = archgen.load(fixture_path(name))
    gold = model.golden(x)
    assert np.array_equal(np.load(tmp_path / "y.npy"), gold)
    assert np.array_equal(model.csim(x, project_dir=tmp_path / "api"), gold)
    assert json.loads((tmp_path / "api" / "reports" / "csim.json").read_text())["mismatches"] == 0


def test_cli_csim_mismatch_names_frame_and_element(projects, tmp_path, capsys):
    need_csim()
    name = SMALL
    bad = tmp_path / "bad"
    shutil.copytree(projects(name), bad)
    x = tmp_path / "x.npy"
    np.save(x, fixture_input(name)[:2])
    # corrupt the weights of the last layer (its accumulators are the accelerator's output)
    from archgen.backends.hardware import plan

    last = plan(archgen.load(fixture_path(name)).graph).layers[-1].module
    header = bad / "hls" / "firmware" / f"{last}.h"
    header.write_text(corrupt_weights(header.read_text()))
    capsys.readouterr()
    assert main(["csim", str(bad), "-i", str(x), "-o", str(tmp_path / "y.npy")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "C simulation differs from the golden model: first at frame" in err and "element" in err
    assert not (tmp_path / "y.npy").exists()
    rep = json.loads((bad / "reports" / "csim.json").read_text())
    assert rep["mismatches"] > 0


def corrupt_weights(text: str) -> str:
    """A layer header with bit 0 of every weight word flipped: the words in the initializer
    after ``rom[``, written as quoted hex (ap_uint's string constructor), 0x literals or
    decimal literals."""
    start = text.index("{", text.index("rom["))
    end = text.index("};", start)
    body = text[start:end]
    if '"' in body:
        body = re.sub(r'"([0-9a-fA-F]+)"', lambda m: f'"{int(m.group(1), 16) ^ 1:x}"', body)
    elif "0x" in body:
        body = re.sub(r"\b0x([0-9a-fA-F]+)", lambda m: f"0x{int(m.group(1), 16) ^ 1:x}", body)
    else:
        body = re.sub(r"(?<![\w.])(\d+)(?![\w.])", lambda m: str(int(m.group(1)) ^ 1), body)
    assert body != text[start:end], "no weight words found"
    return text[:start] + body + text[end:]


def test_missing_ap_types_is_a_clear_error(projects, tmp_path, monkeypatch, capsys):
    d = projects(SMALL)
    x = tmp_path / "x.npy"
    np.save(x, fixture_input(SMALL)[:1])
    argv = ["csim", str(d), "-i", str(x), "-o", str(tmp_path / "y.npy")]
    monkeypatch.setenv("XILINX_HLS", str(tmp_path / "no-vitis"))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("archgen: error: XILINX_HLS=") and "ap_int.h not found" in err
    assert err.count("\n") == 1
    monkeypatch.delenv("XILINX_HLS")
    monkeypatch.setitem(sys.modules, "hls4ml", None)  # find_spec: as if not installed
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("archgen: error: ap_types: set XILINX_HLS") and err.count("\n") == 1
    assert not (tmp_path / "y.npy").exists()


def test_sim_on_an_hls_only_folder_is_a_clear_error(projects, tmp_path, capsys):
    d = projects(SMALL)
    x = tmp_path / "x.npy"
    np.save(x, fixture_input(SMALL)[:1])
    assert main(["sim", str(d), "-i", str(x), "-o", str(tmp_path / "y.npy")]) == 2
    err = capsys.readouterr().err
    assert "generated without the verilog backend" in err and err.count("\n") == 1


# -- the project files ----------------------------------------------------------------------

def test_backend_all_and_determinism(tmp_path, capsys):
    """--backend all writes both backends into one folder; twice gives the same bytes."""
    for sub in ("a", "b"):
        assert main(["generate", str(fixture_path("cnn_w4a4")), "-o", str(tmp_path / sub),
                     "--backend", "all"]) == 0
    a, b = tmp_path / "a", tmp_path / "b"
    assert json.loads((a / "manifest.json").read_text())["backends"] == ["verilog", "hls"]
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert any(str(f).startswith("rtl/") for f in files)
    assert any(str(f).startswith("hls/firmware/") for f in files)
    for f in files:
        if f.name != "manifest.json":
            assert (a / f).read_bytes() == (b / f).read_bytes(), f
    # the testbench data are the Verilog backend's vectors
    vec = json.loads((a / "sim" / "vectors.json").read_text())
    for key, fname in (("inputs", "inputs.txt"), ("outputs", "expected.txt")):
        frames = list(vec[key].values())[0]
        lines = (a / "hls" / "tb" / "tb_data" / fname).read_text().splitlines()
        assert [[int(w, 16) for w in ln.split()] for ln in lines] == frames


TCL_STUBS = """
foreach cmd {open_project set_top add_files open_solution set_part create_clock csim_design
             csynth_design cosim_design export_design} {
    proc $cmd {args} "puts \\"$cmd \\$args\\""
}
set argv $tclargs
source build_prj.tcl
"""


@pytest.mark.parametrize("tclargs, steps", [
    ("", ["csim_design", "csynth_design", "cosim_design", "export_design"]),
    ("cosim=0 export=0", ["csim_design", "csynth_design"]),
    ("synth=0 cosim=0 export=0 ctrl=hs", ["csim_design"]),
])
def test_build_prj_tcl_runs_the_flow(tmp_path, tclargs, steps):
    """build_prj.tcl in tclsh with the Vitis HLS commands stubbed: the project, part, clock,
    files and steps it asks for."""
    tclsh = shutil.which("tclsh")
    if tclsh is None:
        pytest.skip("tclsh not found")
    d = tmp_path / "p"
    assert main(["generate", str(fixture_path("mlp_w2a2")), "-o", str(d), "--backend", "hls",
                 "--part", "xcu50-fsvh2104-2-e", "--clock-mhz", "250"]) == 0
    script = tmp_path / "run.tcl"
    script.write_text(f"set tclargs {{{tclargs}}}\ncd {d / 'hls'}\n" + TCL_STUBS)
    res = subprocess.run([tclsh, str(script)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    log = res.stdout.splitlines()
    top = top_of(d)
    assert f"open_project -reset {top}_prj" in log and f"set_top {top}" in log
    assert "set_part xcu50-fsvh2104-2-e" in log
    assert "create_clock -period 4.000 -name default" in log
    cflags = "-std=c++14" + (" -DARCHGEN_AP_CTRL_HS" if "ctrl=hs" in tclargs else "")
    cflags = f"{{{cflags}}}" if " " in cflags else cflags  # as Tcl prints a list element
    assert f"add_files firmware/{top}.cpp -cflags {cflags}" in log
    assert f"add_files -tb tb/tb.cpp -cflags {cflags}" in log
    assert "add_files -tb tb/tb_data" in log
    assert [ln.split()[0] for ln in log if ln.split()[0].endswith("_design")] == steps
    exports = [ln for ln in log if ln.startswith("export_design")]
    assert all("-format ip_catalog" in ln for ln in exports)
    bad = tmp_path / "bad.tcl"
    bad.write_text(f"set tclargs {{cosim=1 synth=0}}\ncd {d / 'hls'}\n" + TCL_STUBS)
    res = subprocess.run([tclsh, str(bad)], capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and "cosim and export need synth=1" in res.stderr


def test_vitis_axis_types_when_ap_axi_sdata_exists(projects, tmp_path):
    """With an ap_axi_sdata.h on the include path (as in Vitis HLS), the ports are ap_axiu
    beats with TKEEP/TSTRB; archgen's own struct otherwise (or with ARCHGEN_OWN_AXIS)."""
    need_csim()
    d = projects(SMALL)
    (tmp_path / "ap_axi_sdata.h").write_text(AP_AXI_SDATA)
    sources, includes = csim.project_sources(d)
    exe, warnings = csim.build(sources, includes + [tmp_path], name="tb")
    assert warnings == ""
    res = subprocess.run([str(exe)], cwd=d / "hls" / "tb", capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "keep/strb ok" in res.stdout  # the stub header's check ran
    (d / "hls" / "tb" / "tb_data" / "outputs.txt").unlink()


# a minimal stand-in for Vitis HLS's ap_axi_sdata.h (the parts archgen uses)
AP_AXI_SDATA = """#pragma once
#include <cstdio>
#include "ap_int.h"
template <int D, int U, int TI, int TD> struct ap_axiu;
template <int D> struct ap_axiu<D, 0, 0, 0> {
    ap_uint<D> data;
    ap_uint<(D + 7) / 8> keep;
    ap_uint<(D + 7) / 8> strb;
    ap_uint<1> last;
    ~ap_axiu() {
        static bool said = false;
        if (!said && keep == ap_uint<(D + 7) / 8>(-1) && strb == keep) {
            std::printf("keep/strb ok\\n");
            said = true;
        }
    }
};
"""


# -- synthesizability -----------------------------------------------------------------------

FORBIDDEN_INCLUDES = {"iostream", "fstream", "sstream", "vector", "string", "map", "set",
                      "list", "deque", "memory", "functional", "cstdlib", "stdlib.h", "thread"}
STD_TYPES = ("vector", "string", "map", "set", "list", "deque", "unordered_map", "cout", "cerr",
             "cin", "ostream", "istream", "stringstream", "function", "shared_ptr", "unique_ptr")
KEYWORDS = {"if", "for", "while", "switch", "catch", "return", "sizeof", "static_assert",
            "defined", "else", "do"}


def _strip(text: str) -> str:
    """Comments, string and char literals blanked out (newlines kept for line numbers)."""
    pat = re.compile(r'//[^\n]*|/\*.*?\*/|"(\\.|[^"\\\n])*"|\'(\\.|[^\'\\\n])*\'', re.S)
    return pat.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def _close(text: str, i: int, open_: str = "{", close: str = "}") -> int:
    """Index just past the bracket matching the one at ``i``."""
    depth = 0
    for j in range(i, len(text)):
        if text[j] == open_:
            depth += 1
        elif text[j] == close:
            depth -= 1
            if depth == 0:
                return j + 1
    return len(text)


def _functions(code: str) -> list:
    """(name, constexpr, body start, body end) of every function definition."""
    out = []
    head = re.compile(r"(\bconstexpr\b[^;{}]*?)?\b(\w+)\s*(<[^;{}()]*>)?\s*\(")
    for m in head.finditer(code):
        name = m.group(2)
        if name in KEYWORDS:
            continue
        end = _close(code, m.end() - 1, "(", ")")
        tail = re.match(r"\s*(const\s*)?(noexcept\s*)?(:[^;{}]*)?\{", code[end:])
        if not tail:
            continue
        start = end + tail.end() - 1
        prefix = code[max(0, m.start() - 200):m.start()]
        constexpr = bool(m.group(1)) or bool(re.search(r"\bconstexpr\b[^;{}()]*$", prefix))
        out.append((name, constexpr, start, _close(code, start)))
    return out


_CONST_BOUND = re.compile(r"^[\sA-Z0-9_:+\-*/%()<>?]*$")


def _constant(expr: str) -> bool:
    """Whether a loop bound is a compile-time constant by archgen's naming: literals and
    UPPER_CASE names (template parameters, config constants, ``C::NAME``)."""
    expr = re.sub(r"\b\w+\s*<[^<>;]*>\s*::", "", expr)  # traits<C>:: qualifiers
    expr = re.sub(r"\b[A-Za-z_]\w*::", "", expr)  # C:: and namespace qualifiers
    expr = re.sub(r"\b\d+[uUlL]*\b", "0", expr)
    return bool(_CONST_BOUND.match(expr)) and not re.search(r"[a-z]", expr)


def violations(text: str) -> list:
    """Breaks of archgen's synthesizable subset in C++ source ``text`` (with line numbers)."""
    code = _strip(text)
    out = []

    def line(i):
        return code.count("\n", 0, i) + 1

    for m in re.finditer(r"\b(new|delete|malloc|calloc|realloc|free)\b(?=\s*[\w(\[<])", code):
        out.append(f"line {line(m.start())}: dynamic memory ({m.group(1)})")
    for m in re.finditer(r"#\s*include\s*<([\w./]+)>", code):
        if m.group(1) in FORBIDDEN_INCLUDES:
            out.append(f"line {line(m.start())}: #include <{m.group(1)}>")
    for m in re.finditer(rf"\bstd\s*::\s*({'|'.join(STD_TYPES)})\b", code):
        out.append(f"line {line(m.start())}: std::{m.group(1)}")
    for m in re.finditer(r"\b(float|double)\b|\b\d+\.\d*([eE][+-]?\d+)?[fF]?|\b\d+[eE][+-]?\d+\b",
                         code):
        out.append(f"line {line(m.start())}: floating point ({m.group(0)})")
    funcs = _functions(code)
    compile_time = [(a, b) for _, ce, a, b in funcs if ce]

    def runtime(i):
        return not any(a <= i < b for a, b in compile_time)

    for name, _, a, b in funcs:
        if re.search(rf"(?<![\w.>:])(::)?\b{re.escape(name)}\s*(<[^;{{}}()]*>)?\s*\(", code[a:b]):
            out.append(f"line {line(a)}: {name} calls itself (recursion)")
    for m in re.finditer(r"\b(while|do)\b", code):
        if runtime(m.start()):
            out.append(f"line {line(m.start())}: {m.group(1)} loop (unbounded)")
    for m in re.finditer(r"\bfor\s*\(", code):
        if not runtime(m.start()):
            continue
        header = code[m.end():_close(code, m.end() - 1, "(", ")") - 1]
        parts = header.split(";")
        init = re.match(r"\s*(int|unsigned|long|short|ap_u?int<[^>]*>)?\s*\w+\s*=\s*(.+)$",
                        parts[0].strip(), re.S) if len(parts) == 3 else None
        cond = re.match(r"\s*\w+\s*(<=|<|>=|>|!=)\s*(.+)$", parts[1], re.S) \
            if len(parts) == 3 else None
        if not (init and cond and _constant(init.group(2)) and _constant(cond.group(2))):
            out.append(f"line {line(m.start())}: for loop without a constant bound "
                       f"({' '.join(header.split())})")
    return out


@pytest.mark.parametrize("snippet, rule", [
    ("int *p = new int[4];", "dynamic memory"),
    ("void f(int *p) { delete p; }", "dynamic memory"),
    ("void f() { void *p = malloc(4); free(p); }", "dynamic memory"),
    ("#include <vector>\n", "#include <vector>"),
    ("std::string s;", "std::string"),
    ("void f() { std::cout << 1; }", "std::cout"),
    ("float x;", "floating point"),
    ("int f() { return 1.5 > 0; }", "floating point"),
    ("int f(int n) { return n ? f(n - 1) : 0; }", "recursion"),
    ("template <int N> int f(int n) { return f<N>(n); }", "recursion"),
    ("void f(int n) { while (n) n--; }", "while loop"),
    ("void f(int n) { for (int i = 0; i < n; i++) {} }", "without a constant bound"),
    ("void f() { for (;;) {} }", "without a constant bound"),
    ("template <class C> void f(int k) { for (int i = k; i < C::N; i++) {} }",
     "without a constant bound"),
])
def test_synthesizability_checker_catches(snippet, rule):
    assert any(rule in v for v in violations(snippet)), violations(snippet)


def test_synthesizability_checker_accepts():
    ok = """
    // new, delete, float, while in comments; "1.5 while" in strings
    constexpr int clog2(int v) { int r = 0; while ((1 << r) < v) r++; return r; }
    template <class C, int N> void k(hls::stream<ap_uint<C::W> > &s) {
        const int STEPS = C::A * N - 1;
        for (int i = 0; i < STEPS; i++) { s.write(s.read()); }
        for (int j = C::B - 1; j >= 0; j--) {}
        for (int p = 0; p < traits<C>::SW + 2; p++) {}
        static_assert(N > 1, "float");
    }
    """
    assert violations(ok) == []


def _kernel_headers():
    return sorted(p.name for p in (resource_dir("hw") / "hls").glob("*.h"))


@pytest.mark.parametrize("header", _kernel_headers())
def test_kernels_are_synthesizable(header):
    text = (resource_dir("hw") / "hls" / header).read_text()
    assert violations(text) == [], header


@pytest.mark.parametrize("name", FIXTURES)
def test_generated_firmware_is_synthesizable(projects, name):
    fw = projects(name) / "hls" / "firmware"
    for f in sorted(fw.iterdir()):
        assert violations(f.read_text()) == [], f.name
