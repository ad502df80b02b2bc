"""The ``archgen`` command: argument parsing only; the work is done by the public API.

Exit codes: 0 success, 1 verification mismatch, 2 bad input or usage (one line on stderr
naming the file, node or option at fault), 3 internal error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .errors import ArchgenError, ConfigError, ModelError

log = logging.getLogger("archgen.cli")

DEMO_MODEL = "mlp_w6a6.onnx"
DEMO_DIR = "archgen-demo"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit 2), as every other archgen error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} -h)\n")


# -- helpers ------------------------------------------------------------------------------
def _overrides(args) -> dict:
    """Config overrides from command-line options (None = not given)."""
    out = {}
    for key in ("default_precision", "strategy", "clock_mhz", "target_fps", "part"):
        if getattr(args, key, None) is not None:
            out[key] = getattr(args, key)
    if getattr(args, "time_steps", None) is not None:
        out["snn"] = {"time_steps": args.time_steps}
    return out


def _load(args, path):
    """archgen.load, or frontend + pipeline with an IR dump after each pass (--dump-ir)."""
    import archgen

    if not getattr(args, "dump_ir", None):
        return archgen.load(path, getattr(args, "config", None), **_overrides(args))
    from .config import load_config
    from .frontend import load_model
    from .passes import run_pipeline

    config = load_config(getattr(args, "config", None), **_overrides(args))
    source = load_model(path, config)
    graph = run_pipeline(source, config, dump_dir=Path(args.dump_ir))
    return archgen.Model(Path(path), config, source, graph)


def _read_inputs(path: str, graph) -> list:
    """Float input arrays from X.npy (one input) or X.npz (by input name, or 'x')."""
    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: input file not found" if not p.exists() else f"{p}: not a file")
    try:
        data = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ConfigError(f"{p}: not a readable .npy/.npz file ({msg})") from None
    names = list(graph.inputs)
    if isinstance(data, np.ndarray):
        arrays = [data]
    else:
        with data:
            keys = list(data.files)
            if all(n in keys for n in names):
                arrays = [data[n] for n in names]
            elif len(names) == 1 and "x" in keys:
                arrays = [data["x"]]
            elif len(names) == 1 and len(keys) == 1:
                arrays = [data[keys[0]]]
            else:
                raise ConfigError(f"{p}: expected arrays named {', '.join(names)} "
                                  f"(found {', '.join(keys) or 'none'})")
    if len(arrays) != len(names):
        raise ConfigError(f"{p}: the model takes {len(names)} inputs ({', '.join(names)}); "
                          "give them in an .npz file keyed by input name")
    for a in arrays:
        if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)
                or a.dtype == np.bool_):
            raise ConfigError(f"{p}: expected numbers, got dtype {a.dtype}")
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise ConfigError(f"{p}: contains NaN or Inf")
    return arrays


def _golden(model, arrays, xpath):
    """Golden outputs as a list; input errors are prefixed with the input file."""
    try:
        out = model.golden(*arrays)
    except ModelError as e:
        raise type(e)(f"{xpath}: {e}") from None
    return list(out) if isinstance(out, list) else [out]


def _write_outputs(path: str, names, outs) -> None:
    import io

    import numpy as np

    from .project import write_atomic

    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{p}: output path is a folder; give a file name (Y.npy)")
    if not p.parent.is_dir():
        raise ConfigError(f"{p}: folder {p.parent} does not exist")
    buf = io.BytesIO()
    if p.suffix == ".npz":
        np.savez(buf, **{n: np.asarray(o, dtype=np.float64) for n, o in zip(names, outs)})
    elif len(outs) != 1:
        raise ConfigError(f"{p}: the model has {len(outs)} outputs ({', '.join(names)}); "
                          "write them to an .npz file (-o Y.npz)")
    else:
        np.save(buf, np.asarray(outs[0], dtype=np.float64), allow_pickle=False)
    try:
        write_atomic(p, buf.getvalue())
    except OSError as e:
        raise ConfigError(f"{p}: cannot write ({e.strerror})") from None


def _options_record(args, keys) -> dict:
    """Options as given, for the manifest (file arguments by base name: no absolute paths)."""
    out = {}
    for k in keys:
        v = getattr(args, k, None)
        if v is None:
            continue
        if k == "config":
            v = Path(v).name
        out[k] = v
    return out


# -- commands -------------------------------------------------------------------------
def cmd_golden(args) -> int:
    if Path(args.output).is_dir():
        raise ConfigError(f"{args.output}: output path is a folder; give a file name (Y.npy)")
    model = _load(args, args.model)
    arrays = _read_inputs(args.input, model.graph)
    outs = _golden(model, arrays, args.input)
    _write_outputs(args.output, list(model.graph.outputs), outs)
    log.info("wrote %s", args.output)
    return 0


def cmd_generate(args) -> int:
    from .project import check_backends, check_out_dir, write_project

    if args.target_fps is not None and args.clock_mhz is None:
        raise ConfigError("--target-fps requires --clock-mhz (the throughput target is in "
                          "frames per second at that clock)")
    backends = check_backends([args.backend] if args.backend else [])
    check_out_dir(Path(args.output), [], args.force)  # fail before the (slow) import
    if args.simulator is not None and not args.size_fifos:
        raise ConfigError("--simulator is the simulator of --size-fifos; give --size-fifos too")
    model = _load(args, args.model)
    opts = _options_record(args, ("backend", "strategy", "target_fps", "clock_mhz", "part",
                                  "config", "default_precision", "size_fifos", "simulator",
                                  "force"))
    extra = {}
    if args.size_fifos:
        from .fifo_sizing import size_fifos
        from .project import json_text

        model, rep = size_fifos(model, args.simulator)
        extra["reports/fifo_sizing.json"] = json_text(rep)
        used = sum(1 for d in rep["depths"].values() if d)
        print(f"archgen: FIFOs sized by simulation ({rep['simulator']}): {used} of "
              f"{len(rep['depths'])} layer inputs get one; interval {rep['best_interval_cycles']} "
              f"cycles with deep FIFOs, {rep['estimated_interval_cycles']} estimated")
    files = write_project(model, args.output, force=args.force, backends=backends, options=opts,
                          extra_files=extra)
    print(f"archgen: wrote {len(files)} files to {args.output}")
    return 0


def cmd_sim(args) -> int:
    from .simulate import open_project, simulate_project

    if Path(args.output).is_dir():
        raise ConfigError(f"{args.output}: output path is a folder; give a file name (Y.npy)")
    opened = open_project(Path(args.dir), "verilog")
    model = opened[0]
    arrays = _read_inputs(args.input, model.graph)
    try:
        result = simulate_project(args.dir, arrays, args.simulator, args.waves, opened=opened)
    except ModelError as e:
        raise type(e)(f"{args.input}: {e}") from None
    _write_outputs(args.output, list(model.graph.outputs), result.outputs)
    r = result.report
    print(f"archgen sim: {r['frames']} frames bit-exact in {r['simulator']}; latency "
          f"{r['latency_cycles']} cycles, interval {r['interval_cycles']} cycles "
          f"({Path(args.dir) / 'reports' / 'sim.json'})")
    return 0


def cmd_csim(args) -> int:
    from .csim import csim_project
    from .simulate import open_project

    if Path(args.output).is_dir():
        raise ConfigError(f"{args.output}: output path is a folder; give a file name (Y.npy)")
    opened = open_project(Path(args.dir), "hls")
    model = opened[0]
    arrays = _read_inputs(args.input, model.graph)
    try:
        result = csim_project(args.dir, arrays, opened=opened)
    except ModelError as e:
        raise type(e)(f"{args.input}: {e}") from None
    _write_outputs(args.output, list(model.graph.outputs), result.outputs)
    r = result.report
    print(f"archgen csim: {r['frames']} frames bit-exact in C simulation; estimated latency "
          f"{r['latency_cycles']} cycles, interval {r['interval_cycles']} cycles "
          f"({Path(args.dir) / 'reports' / 'csim.json'})")
    return 0


def cmd_report(args) -> int:
    from .estimate.report import report_project

    if args.jobs is not None and args.jobs < 1:
        raise ConfigError(f"--jobs {args.jobs}: must be at least 1")
    data = report_project(args.dir, synth=args.synth, part=args.part, workers=args.jobs)
    est = data["estimate"]
    tot = est["total"]
    line = ", ".join(f"{k} {tot[k]:,}" for k in ("LUT", "FF", "DSP", "BRAM36", "BRAM18"))
    print(f"estimate on {data['part']}: {line}; interval {est['interval_cycles']:,} cycles "
          f"(bottleneck {est['bottleneck']}), latency {est['latency_cycles']:,} cycles")
    if "synth" in data:
        tot = data["synth"]["total"]
        line = ", ".join(f"{k} {tot[k]:,}" for k in ("LUT", "FF", "DSP", "BRAM36", "BRAM18"))
        print(f"yosys synth_xilinx: {line}")
    print(f"wrote {Path(args.dir) / 'reports' / 'resources.json'} and report.html")
    return 0


def cmd_dse(args) -> int:
    from .dse.search import run

    if args.no_synth and not args.verify_best:
        raise ConfigError("--no-synth: only with --verify-best K (it leaves synthesis out of "
                          "the measurement)")
    if args.simulator is not None and not args.verify_best:
        raise ConfigError("--simulator: only with --verify-best K (the simulator of the "
                          "measurement)")
    res = run(args.model, args.output, flow=args.flow, data=args.data,
              trials=50 if args.trials is None else args.trials,
              workers=1 if args.workers is None else args.workers, scheduler=args.scheduler,
              emit_best=args.emit_best, min_fidelity=args.min_fidelity,
              verify_best=args.verify_best, simulator=args.simulator, synth=not args.no_synth)
    print(f"archgen: {res.new} trials ({res.complete} complete, {res.failed} failed in "
          f"{args.output}); {len(res.pareto)} Pareto points in {args.output}/pareto.json")
    if res.best is not None:
        print(f"archgen: best: trial {res.best['trial']} ({res.best['rule']})"
              + (f"; project in {args.output}/best" if args.emit_best else ""))
    for name, m in res.measured.items():
        what = "baseline" if name == "baseline" else f"trial {name}"
        line = ", ".join(f"{k} {m[k]:,}" for k in ("LUT", "FF", "DSP", "BRAM36", "BRAM18")
                         if k in m)
        exact = {True: "bit-exact", False: "NOT bit-exact", None: "not simulated"}[m["bit_exact"]]
        print(f"archgen: measured {what}: {line + '; ' if line else ''}interval "
              f"{m.get('interval_cycles')}, latency {m.get('latency_cycles')} cycles; {exact} "
              f"on {m['frames']} frames in {m['simulator']} ({args.output}/{m['project']})")
    if res.interrupted:
        print("archgen: interrupted; finished trials kept, outputs written", file=sys.stderr)
        return 130
    return 0


def _demo_model() -> Path:
    root = Path(__file__).resolve().parents[2]
    p = root / "tests" / "fixtures" / DEMO_MODEL
    if not p.is_file():
        raise ConfigError(f"{p}: demo model not found (the demo runs from a source checkout "
                          "with tests/fixtures; run `make fixtures` to create it)")
    return p


def cmd_demo(args) -> int:
    import io

    import numpy as np

    from .project import write_project

    path = _demo_model()
    data_path = path.with_suffix(".npz")
    model = _load(args, path)
    arrays = _read_inputs(str(data_path), model.graph)
    outs = _golden(model, arrays, data_path)
    y = np.asarray(outs[0], dtype=np.float64)
    xb, yb = io.BytesIO(), io.BytesIO()
    np.save(xb, np.asarray(arrays[0]), allow_pickle=False)
    np.save(yb, y, allow_pickle=False)
    files = write_project(model, args.output, force=args.force, options={"demo": True},
                          extra_files={"x.npy": xb.getvalue(), "golden_y.npy": yb.getvalue()})
    print(str(model.graph))
    print()
    with np.printoptions(precision=4, suppress=True, linewidth=100):
        print(f"golden outputs, first {min(3, len(y))} of {len(y)} samples:")
        print(y[:3])
    print(f"archgen demo: {path.name}: {len(model.graph.nodes)} nodes, {len(y)} samples run "
          f"bit-accurately; {len(files)} files written to {args.output}/")
    _demo_sim(args.output, arrays)
    _demo_report(args.output)
    return 0


def _demo_report(out_dir) -> None:
    """The demo's analytic resource report (yosys synthesis is `archgen report --synth`)."""
    from .estimate.report import report_project

    data = report_project(out_dir)
    est = data["estimate"]
    tot, use = est["total"], est["utilization_percent"]
    print(f"archgen demo: estimated on {data['part']}: {tot['LUT']:,} LUT ({use['LUT']:g}%), "
          f"{tot['FF']:,} FF, {tot['DSP']} DSP, {tot['BRAM36']} BRAM36 + {tot['BRAM18']} BRAM18 "
          f"({Path(out_dir) / 'reports' / 'report.html'}; `archgen report {out_dir} --synth` "
          "adds yosys's figures)")


DEMO_SIM_FRAMES = 8


def _demo_sim(out_dir, arrays) -> None:
    """The demo's RTL simulation (Verilator) of the first frames, when a simulator is here."""
    from . import simulate

    why = simulate.available("verilator")
    if why:
        print(f"archgen demo: RTL simulation skipped ({why})")
        return
    x = [a[:DEMO_SIM_FRAMES] for a in arrays]
    print(f"archgen demo: building and simulating the RTL in Verilator ({len(x[0])} frames)...",
          flush=True)
    r = simulate.simulate_project(out_dir, x, "verilator").report
    print(f"archgen demo: RTL == golden model on all {r['frames']} frames; latency "
          f"{r['latency_cycles']} cycles, interval {r['interval_cycles']} cycles = "
          f"{r.get('frames_per_second', 0):,.0f} frames/s at {r['clock_mhz']:g} MHz "
          f"({Path(out_dir) / 'reports' / 'sim.json'})")


# -- parser ---------------------------------------------------------------------------
def _model_options(p, config=True):
    if config:
        p.add_argument("--config", metavar="CFG.yaml", help="YAML configuration file")
    p.add_argument("--default-precision", metavar="P",
                   help="precision of float tensors quantized by archgen, e.g. fixed<16,6>")
    p.add_argument("--time-steps", metavar="T", type=int, default=None,
                   help="spiking models (.nir): time steps per sample the hardware is built "
                        "for (snn.time_steps)")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    common = _Parser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log each step (and show tracebacks of internal errors)")
    common.add_argument("--dump-ir", metavar="DIR", default=argparse.SUPPRESS,
                        help="write the IR after each pass into DIR")

    parser = _Parser(prog="archgen", description="Compile quantized neural networks to FPGA "
                     "accelerators.")
    parser.add_argument("--version", action="version", version=f"archgen {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", default=False,
                        help="log each step (and show tracebacks of internal errors)")
    parser.add_argument("--dump-ir", metavar="DIR", default=None,
                        help="write the IR after each pass into DIR")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("golden", parents=[common], help="bit-accurate numpy execution")
    p.add_argument("model", metavar="MODEL", help="model file (.onnx or .nir)")
    p.add_argument("-i", "--input", required=True, metavar="X.npy", help="inputs, batch first")
    p.add_argument("-o", "--output", required=True, metavar="Y.npy",
                   help="outputs (float64 .npy; .npz for several outputs)")
    _model_options(p)
    p.set_defaults(func=cmd_golden)

    p = sub.add_parser("generate", parents=[common], help="write the accelerator project folder")
    p.add_argument("model", metavar="MODEL", help="model file (.onnx or .nir)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="project folder")
    p.add_argument("--backend", choices=("verilog", "hls", "all"), default=None)
    p.add_argument("--strategy", choices=("dataflow", "latency"), default=None)
    p.add_argument("--target-fps", type=float, metavar="F", default=None)
    p.add_argument("--clock-mhz", type=float, metavar="C", default=None)
    p.add_argument("--part", metavar="PART", default=None)
    _model_options(p)
    p.add_argument("--size-fifos", action="store_true", default=None,
                   help="size the FIFO in front of every layer by simulation (one extra "
                        "simulator build; the depths go into the project's config and "
                        "reports/fifo_sizing.json)")
    p.add_argument("--simulator", choices=("verilator", "icarus"), default=None,
                   help="simulator of --size-fifos (default: verilator when installed)")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty folder not made by archgen (overwrites only "
                        "archgen's own file names; never deletes)")
    p.set_defaults(func=cmd_generate)

    for name, what in (("sim", "RTL simulation against the golden model"),
                       ("csim", "HLS C simulation against the golden model")):
        p = sub.add_parser(name, parents=[common], help=what)
        p.add_argument("dir", metavar="DIR")
        p.add_argument("-i", "--input", required=True, metavar="X.npy")
        p.add_argument("-o", "--output", required=True, metavar="Y.npy")
        if name == "sim":
            p.add_argument("--simulator", choices=("verilator", "icarus"), default=None)
            p.add_argument("--waves", action="store_true")
            p.set_defaults(func=cmd_sim)
        else:
            p.set_defaults(func=cmd_csim)

    p = sub.add_parser("report", parents=[common], help="resource and latency report")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--synth", action="store_true",
                   help="also synthesize every layer with yosys synth_xilinx (cached)")
    p.add_argument("--part", metavar="PART", default=None,
                   help="device to report utilization against (default: the project's part)")
    p.add_argument("--jobs", type=int, metavar="N", default=None,
                   help="yosys processes at once (default: one per core)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("dse", parents=[common], help="design-space exploration")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("-o", "--output", required=True, metavar="DIR")
    p.add_argument("--data", metavar="D.npz")
    p.add_argument("--trials", type=int, metavar="N")
    p.add_argument("--workers", type=int, metavar="N")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler (tcp://host:port); default: a local process pool")
    p.add_argument("--flow", metavar="F.yaml", help="design flow (default: the built-in flow)")
    p.add_argument("--emit-best", action="store_true",
                   help="generate the chosen design's project into DIR/best")
    p.add_argument("--min-fidelity", type=float, metavar="F",
                   help="fidelity floor of --emit-best's choice (default: baseline - 0.01)")
    p.add_argument("--verify-best", type=int, metavar="K", default=0,
                   help="after the search, measure the K first Pareto points (in --emit-best's "
                        "order) and the baseline: yosys synthesis and RTL simulation against "
                        "the golden model, projects in DIR/verify/ (default: 0, none)")
    p.add_argument("--simulator", choices=("verilator", "icarus"), default=None,
                   help="simulator of --verify-best (default: verilator, as archgen sim)")
    p.add_argument("--no-synth", action="store_true",
                   help="--verify-best without yosys: RTL simulation only")
    p.set_defaults(func=cmd_dse)

    p = sub.add_parser("demo", parents=[common], help="run a bundled example end to end")
    p.add_argument("-o", "--output", default=DEMO_DIR, metavar="DIR",
                   help=f"output folder (default: ./{DEMO_DIR})")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_demo, default_precision=None, config=None)
    return parser


def main(argv=None) -> int:
    verbose = False
    try:
        args = build_parser().parse_args(argv)
        verbose = args.verbose
        if verbose:
            logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s",
                                stream=sys.stderr, force=True)
        return args.func(args)
    except SystemExit as e:  # argparse: --help, --version, usage errors
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    except ArchgenError as e:
        msg = " ".join(str(e).split()) or type(e).__name__
        print(f"archgen: error: {msg}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("archgen: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug in archgen: one line, traceback only with -v
        if verbose:
            import traceback

            traceback.print_exc()
        msg = " ".join(str(e).split())
        print(f"archgen: internal error: {type(e).__name__}: {msg} "
              "(please report; run with -v for a traceback)", file=sys.stderr)
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
