"""archgen golden vs each fixture's source framework: how many output elements agree.

qonnx's execute_onnx for QONNX models, onnxruntime for the others, both as the graph
defines it (onnxruntime unoptimized) and as onnxruntime runs it by default (its
optimizer fuses QDQ patterns into integer kernels with their own requantization).

    .venv/bin/python bench/bench_agreement.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "gen"))
sys.path.insert(0, str(ROOT / "tests"))

import archgen  # noqa: E402
from reference import agreement, is_qonnx, output_step, run_reference  # noqa: E402


def main():
    import onnx

    print("| model | reference | elements | exact | within one step | worst (steps) |")
    print("|---|---|---:|---:|---:|---:|")
    for path in sorted((ROOT / "tests" / "fixtures").glob("*.onnx")):
        model = archgen.load(path)
        x = np.load(path.with_suffix(".npz"))["x"]
        rng = np.random.default_rng(7)
        x = np.concatenate([x, rng.normal(size=(224,) + x.shape[1:]) * x.std() * 1.5 + x.mean()])
        ours = model.golden(x)
        qonnx = is_qonnx(onnx.load(str(path)))
        refs = [("qonnx", False)] if qonnx else [("onnxruntime", False), ("onnxruntime -O", True)]
        for label, opt in refs:
            ref = run_reference(path, x, optimized=opt)
            if path.stem == "mlp_float":
                err = np.abs(ours - ref) / 2.0 ** -10
                print(f"| {path.stem} | {label} (float) | {ours.size} | - | - | "
                      f"max {err.max():.1f} / mean {err.mean():.2f} LSB of fixed<16,6> |")
                continue
            a = agreement(ours, ref, output_step(model))
            print(f"| {path.stem} | {label} | {ours.size} | {100 * a.exact:.2f}% | "
                  f"{100 * a.within_one:.2f}% | {a.worst_steps:.3g} |")


if __name__ == "__main__":
    main()
