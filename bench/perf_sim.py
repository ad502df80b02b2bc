"""Issue #9's benchmark designs in Verilator: each one simulated bit-exact against the golden
model, with its cold Verilator build time and the simulated clock cycles per wall second.
Prints one table; exits 1 when any design's RTL differs from golden (numbers go to the
README; nothing here is a timed assertion).

    .venv/bin/python bench/perf_sim.py [--only NAME ...] [--frames N] [--rom-bits B]
                                       [--size-fifos | --rules]

The six designs are built exactly as ``bench/bench_performance.py`` builds them (same parts,
clocks, target frame rates and the fully parallel layers of the jet dataflow row; the
CNV designs with the FIFO depths of bench/cnv_fifos.json, sized by simulation);
``designs()`` and ``simulate_design()`` are the API that bench and tests/test_benchmarks.py
use.  Builds go to a private ARCHGEN_CACHE, so they are cold, and run with one make job (the
machines this runs on are shared).

Weight memories: the projects are written by ``write_project`` as they are for users, so
every memory over the backend's ROM_BITS (64 kbit) is a ``$readmemh`` file (on CNV: 6-7 of
the 9 weight memories, 0.4-0.9 MB of .mem text against 0.14 MB of Verilog); the rest
are constant parameters.  ``--rom-bits B`` rewrites rtl/ with another threshold, to
measure what constants cost the Verilator build.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "gen"))
sys.path.insert(0, str(ROOT / "bench"))

JET = ROOT / "tests" / "fixtures" / "mlp_w6a6.onnx"  # 16-64-32-32-5, W6A6, batch norm
JET_OPTIONS = {"part": "xcvu9p", "clock_mhz": 200}  # hls4ml's 6-bit case: VU9P at 200 MHz
JET_DEPTHS = (2, 4, 5)  # latency_depth: adder levels between registers (5: 9 cycles)
CNV_CASES = ((2, 2, 2580.0), (1, 1, 9150.0))  # BNN-PYNQ on PYNQ-Z1 at 100 MHz
CNV_OPTIONS = {"clock_mhz": 100.0, "part": "xc7z020"}
# frames simulated by default: CNV's latency is 54k-166k cycles, its interval 10k-37k
FRAMES = {"jet": 8, "cnv": 2}
NAMES = (("jet-dataflow-parallel",) + tuple(f"jet-latency-d{d}" for d in JET_DEPTHS)
         + tuple(f"cnv-w{w}a{a}" for w, a, _ in CNV_CASES))
INPUT_SEED = 9
# the CNV designs' FIFO depths from sizing by simulation (archgen.fifo_sizing), written by
# `perf_sim.py --size-fifos --only cnv-...`: 10-25 minutes of Verilator build per design
CNV_FIFOS = ROOT / "bench" / "cnv_fifos.json"


def fully_parallel(path) -> dict:
    """Every Dense layer at PE = outputs, SIMD = inputs (one cycle per frame)."""
    import archgen

    layers = {}
    for n in archgen.load(path).graph.nodes:
        if n.op.kind() == "mvu":
            rows, cols = n.op.weight.shape
            layers[n.name] = {"pe": rows, "simd": cols}
    return layers


def cnv_inputs(model, frames: int, seed: int = INPUT_SEED) -> np.ndarray:
    """Random float images (frames, 3, 32, 32) on the codes of the model's input quantizer
    (so every code of its range can occur, and each maps to exactly one input)."""
    from archgen.backends.hardware import plan

    hw = plan(model.graph)
    q = model.graph.tensors[hw.input.tensor].quant
    rng = np.random.default_rng(seed)
    codes = rng.integers(q.lo, q.hi + 1, size=(frames, 3, 32, 32))
    scale = float(np.asarray(q.scale).reshape(-1)[0])
    return ((codes - q.zero_point) * scale).astype(np.float32)


def cnv_fifos() -> dict:
    """{design: fifo_depths} of the CNV designs, as ``--size-fifos`` last sized them."""
    import json

    return json.loads(CNV_FIFOS.read_text()) if CNV_FIFOS.is_file() else {}


def design(name: str, frames: int | None = None, folder=None, sized: bool = True):
    """(model, input array) of one benchmark design; CNV's ONNX model goes into ``folder``
    (a new temporary folder when None; the model file must live as long as the model).
    ``sized``: a CNV design takes its FIFO depths from CNV_FIFOS (else the plan's rules)."""
    import archgen

    if name not in NAMES:
        raise ValueError(f"unknown design {name!r}; the designs: {', '.join(NAMES)}")
    if name.startswith("jet"):
        x = np.load(JET.with_suffix(".npz"))["x"][:frames or FRAMES["jet"]]
        if name == "jet-dataflow-parallel":
            return archgen.load(JET, layers=fully_parallel(JET), **JET_OPTIONS), x
        depth = int(name.rsplit("d", 1)[1])  # adder levels between registers
        return archgen.load(JET, strategy="latency", latency_depth=depth, **JET_OPTIONS), x
    import onnx
    from models import cnv

    wbits, abits, fps = next(c for c in CNV_CASES if name == f"cnv-w{c[0]}a{c[1]}")
    folder = Path(folder or tempfile.mkdtemp(prefix="archgen-cnv-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"cnv_w{wbits}a{abits}.onnx"
    onnx.save(cnv(wbits, abits), path)
    fifos = cnv_fifos().get(name, {}) if sized else {}
    model = archgen.load(path, target_fps=fps, fifo_depths=fifos, **CNV_OPTIONS)
    return model, cnv_inputs(model, frames or FRAMES["cnv"])


def designs(only=None, frames: int | None = None, folder=None, sized: bool = True):
    """Yield (name, model, input array) for each benchmark design (``only``: a subset)."""
    for name in only or NAMES:
        model, x = design(name, frames, folder, sized)
        yield name, model, x


def size_cnv_fifos(name: str, model, workdir):
    """``model`` with FIFOs sized by simulation (Verilator, a cold build in ``workdir``);
    its depths replace ``name``'s in CNV_FIFOS.  Returns (model, sizing report)."""
    import json

    from archgen.fifo_sizing import size_fifos

    with _private_cache(Path(workdir) / "cache"):
        t = time.perf_counter()
        model, rep = size_fifos(model, "verilator", work=Path(workdir) / "probe")
        rep["sizing_s"] = round(time.perf_counter() - t, 1)
    table = cnv_fifos()
    table[name] = rep["depths"]
    CNV_FIFOS.write_text(json.dumps(dict(sorted(table.items())), indent=1, sort_keys=True) + "\n")
    return model, rep


@contextlib.contextmanager
def _private_cache(folder: Path):
    """ARCHGEN_CACHE in ``folder`` (cold builds) and one make job for Verilator's C++."""
    from cocotb_tools import runner

    old_cache, old_jobs = os.environ.get("ARCHGEN_CACHE"), runner.MAX_PARALLEL_BUILD_JOBS
    os.environ["ARCHGEN_CACHE"] = str(folder)
    runner.MAX_PARALLEL_BUILD_JOBS = 1
    try:
        yield
    finally:
        runner.MAX_PARALLEL_BUILD_JOBS = old_jobs
        if old_cache is None:
            os.environ.pop("ARCHGEN_CACHE", None)
        else:
            os.environ["ARCHGEN_CACHE"] = old_cache


@contextlib.contextmanager
def _peak_rss(every: float = 0.5):
    """[peak bytes] of the summed resident size of this process's descendants (the build's
    verilator, make and compilers), sampled every ``every`` s; [] without psutil."""
    try:
        import psutil
    except ImportError:
        yield []
        return
    import threading

    peak, stop, me = [0], threading.Event(), psutil.Process()

    def poll():
        while not stop.wait(every):
            total = 0
            for c in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += c.memory_info().rss
            peak[0] = max(peak[0], total)

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    try:
        yield peak
    finally:
        stop.set()
        t.join()


def _rewrite_rtl(model, project: Path, rom_bits: int) -> None:
    """rtl/ of ``project`` again with memories over ``rom_bits`` bits as .mem files."""
    from archgen.backends.verilog import rtl_files

    files = rtl_files(model.hardware(), rom_bits)
    for mem in (project / "rtl").glob("*.mem"):
        if mem.name not in files:
            mem.unlink()
    for name, text in files.items():
        (project / "rtl" / name).write_text(text)


def simulate_design(name: str, model, x, workdir, rom_bits: int | None = None,
                    simulator: str = "verilator") -> dict:
    """Write ``model``'s project into ``workdir``/``name``, build it cold, stream ``x``
    through it and compare with ``model.golden(x)``.

    Returns build_s (the simulator build alone), sim_s (the simulation, both phases of the
    bench: 3 frames back to back, then every frame with 30% random stalls on both sides),
    cycles_total (clock cycles simulated in both phases), cycles_per_s (cycles_total /
    sim_s), latency_cycles, interval_cycles (from the back-to-back phase), bit_exact,
    frames, and build_peak_mb (peak of the summed resident size of the build processes)."""
    from archgen import simulate
    from archgen.errors import VerificationError
    from archgen.project import read_manifest, write_project

    workdir = Path(workdir)
    project = workdir / name
    write_project(model, project, backends=("verilog",))
    if rom_bits is not None:
        _rewrite_rtl(model, project, rom_bits)
    hw = model.hardware()
    rtl = project.resolve() / "rtl"
    out = {"design": name, "frames": int(len(x)), "rom_files": len(list(rtl.glob("*.mem"))),
           "rtl_kb": round(sum(p.stat().st_size for p in rtl.glob("*.v")) / 1024)}
    with _private_cache(workdir / "cache"):
        bench = simulate.Bench(tuple(sorted(rtl.glob("*.v"))), hw.top, "test_accelerator",
                               project.resolve() / "sim")
        t = time.perf_counter()
        with _peak_rss() as peak:
            simulate.build(bench, simulator, log=project / f"build-{simulator}.log")
        out["build_s"] = time.perf_counter() - t
        out["build_peak_mb"] = peak[0] / 2**20 if peak else None
        t = time.perf_counter()
        try:
            res = simulate.simulate_project(project, [x], simulator,
                                            opened=(model, hw, read_manifest(project)))
            got, error = res.outputs[0], None  # the model's one output
        except VerificationError as e:
            got, error = None, str(e)
        out["sim_s"] = time.perf_counter() - t
    import json

    rep = json.loads((project / "reports" / "sim.json").read_text())
    lat, ivl, stalls = rep["latency_cycles"], rep["interval_cycles"], rep["cycles_total"]
    warm = 3  # frames of the measuring phase (simulate.simulate_project's warmup)
    cycles = (lat or 0) + (warm - 1) * (ivl or 0) + (stalls or 0)
    out.update({"latency_cycles": lat, "interval_cycles": ivl, "stall_phase_cycles": stalls,
                "cycles_total": cycles, "cycles_per_s": cycles / out["sim_s"],
                "mismatches": rep["mismatches"], "error": error,
                "bit_exact": bool(got is not None and rep["mismatches"] == 0
                                  and np.array_equal(got, model.golden(x)))})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", choices=NAMES, metavar="NAME",
                    help=f"designs to run (default: all of {', '.join(NAMES)})")
    ap.add_argument("--frames", type=int, default=None,
                    help=f"frames per design (default: jet {FRAMES['jet']}, CNV {FRAMES['cnv']})")
    ap.add_argument("--rom-bits", type=int, default=None,
                    help="memories over this many bits as $readmemh files (default: the backend's)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--simulator", choices=("verilator", "icarus"), default="verilator",
                    help="the simulator (default verilator; the jet MLP's designs build in "
                         "seconds in icarus)")
    fifos = ap.add_mutually_exclusive_group()
    fifos.add_argument("--size-fifos", action="store_true",
                       help=f"size the CNV designs' FIFOs by simulation first (rewrites {CNV_FIFOS.name})")
    fifos.add_argument("--rules", action="store_true",
                       help=f"CNV with the plan's FIFO rules, not the depths in {CNV_FIFOS.name}")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="archgen-perf-sim-"))
    rows = []
    for name, model, x in designs(args.only, args.frames, work / "models", not args.rules):
        if args.size_fifos and name.startswith("cnv"):
            model, rep = size_cnv_fifos(name, model, work / f"{name}-sizing")
            print(f"{name}: FIFOs sized in {rep['sizing_s']} s, best interval "
                  f"{rep['best_interval_cycles']:,} (estimate {rep['estimated_interval_cycles']:,}); "
                  f"depths {rep['depths']}", file=sys.stderr, flush=True)
        # a fresh cache per design: every build is cold
        r = simulate_design(name, model, x, work / name, rom_bits=args.rom_bits,
                            simulator=args.simulator)
        rows.append(r)
        print(f"{name}: build {r['build_s']:.1f} s (peak {r['build_peak_mb']:,.0f} MB), "
              f"sim {r['sim_s']:.1f} s, bit-exact {r['bit_exact']}", file=sys.stderr, flush=True)
    print("| design | frames | build s | sim s | cycles/s | latency | interval | bit-exact |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['design']} | {r['frames']} | {r['build_s']:.1f} | {r['sim_s']:.1f} | "
              f"{r['cycles_per_s']:,.0f} | {r['latency_cycles'] or 0:,} | {r['interval_cycles'] or 0:,} | "
              f"{'yes' if r['bit_exact'] else 'NO'} |")
    for r in rows:
        if r["error"]:
            print(f"{r['design']}: {r['error']}", file=sys.stderr)
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"work folder: {work}", file=sys.stderr)
    return 0 if all(r["bit_exact"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
