"""The synapse cell (hw/rtl/synapse.v) through its rendered layer module: bit-exact against
the unit's golden() under random stalls, on spike frames of every density (none, sparse,
dense, all), the event-driven cycle figures on frames of a known spike count, lint over the
grid and one synthesis."""

import numpy as np
import pytest

from archgen.backends import verilog
from archgen.errors import InternalError
from archgen.ir.graph import Tensor
from archgen.ir.types import QuantSpec
from archgen.units import synapse
from cellsim import lint, rtl, run_unit, synth

pytestmark = pytest.mark.sim

SPIKE = QuantSpec(bits=1, signed=False)


def spec(kind: str) -> QuantSpec:
    """'i4': 4-bit signed, 'u8': 8-bit unsigned, 'bip': bipolar."""
    if kind == "bip":
        return QuantSpec.bipolar_spec()
    return QuantSpec(bits=int(kind[1:]), signed=kind[0] == "i")


def layer(rows, cols, pe, simd, wk, seed=0, positions=()):
    """(op, ins, outs) of a random synapse layer; ``positions``: the vectors of a frame
    (a convolution's output positions), one vector when empty."""
    rng = np.random.default_rng(seed)
    wq = spec(wk)
    if wq.bipolar:
        w = rng.choice(np.array([-1, 1]), size=(rows, cols))
    else:
        w = rng.integers(wq.lo, wq.hi + 1, size=(rows, cols), dtype=np.int64)
    op = synapse.Params(w, wq, pe=pe, simd=simd)
    x = Tensor("s", tuple(positions) + (cols,), SPIKE)
    ((shape, q),) = op.infer([x])
    return op, [x], [Tensor("y", shape, q)]


def frame(rng, k: int, nnz: int) -> np.ndarray:
    s = np.zeros(k, dtype=np.int64)
    s[rng.choice(k, size=nnz, replace=False)] = 1
    return s


DENSITIES = (0.0, 0.05, 0.3, 1.0)


def spikes(k: int, density: float, seed: int, extra: int = 2) -> tuple[np.ndarray, int]:
    """Frames of spike vectors: three with exactly nnz = round(density * K) spikes (at least
    one for a density above 0; the bench measures its cycles on these), then ``extra``
    random frames of every density, an all-zero and an all-one frame.  Returns (frames, nnz)."""
    rng = np.random.default_rng(2000 + seed)
    nnz = max(1, round(density * k)) if density > 0 else 0
    frames = [frame(rng, k, nnz) for _ in range(3)]
    for d in DENSITIES:
        frames += [(rng.random(k) < d).astype(np.int64) for _ in range(extra)]
    frames += [np.zeros(k, dtype=np.int64), np.ones(k, dtype=np.int64)]
    return np.stack(frames), nnz


# rows, cols, pe, simd, weights
CASES = {
    "n4k8-pe1simd1-i4": (4, 8, 1, 1, "i4"),
    "n6k12-pe2simd3-u3": (6, 12, 2, 3, "u3"),
    "n8k16-pe8simd4-i8": (8, 16, 8, 4, "i8"),
    "n12k24-pe3simd8-bip": (12, 24, 3, 8, "bip"),
    "n4k32-pe4simd32-i16": (4, 32, 4, 32, "i16"),
    "n10k20-pe5simd2-u8": (10, 20, 5, 2, "u8"),
    "n3k40-pe1simd5-i2": (3, 40, 1, 5, "i2"),
}
# (case, density of the measured frames): each run also streams frames of every density
ICARUS = (("n4k8-pe1simd1-i4", 0.3), ("n6k12-pe2simd3-u3", 1.0), ("n8k16-pe8simd4-i8", 0.0),
          ("n12k24-pe3simd8-bip", 0.05), ("n4k32-pe4simd32-i16", 0.3),
          ("n10k20-pe5simd2-u8", 0.05), ("n3k40-pe1simd5-i2", 0.3))
ROM = (("n6k12-pe2simd3-u3", 0.3), ("n12k24-pe3simd8-bip", 1.0))  # weights from a .mem file
# one Verilator build in the default tier (each costs ~20 s); the other in test-all
VERILATOR = (("n10k20-pe5simd2-u8", 0.3, True),
             pytest.param("n12k24-pe3simd8-bip", 0.0, False, marks=pytest.mark.slow))


def _check(tmp_path, simulator, name, density, rom, seed=0):
    op, ins, outs = layer(*CASES[name], seed=seed)
    xs, nnz = spikes(op.weight.shape[1], density, seed)
    res = run_unit(tmp_path, simulator, op, ins, outs, [xs], frames=len(xs),
                   rom_bits=0 if rom else None, stall=0.3, seed=seed + 1)
    if rom:
        assert (tmp_path / "dut_weights.mem").is_file()
    d = synapse.derive(op, ins, outs)
    nf, sf = d["nf"], d["sf"]
    assert d["cycles_per_spike"] == nf and d["cycles"] == (d["cols"] + 1) * nf
    # steady state: the compute (nf per spike) and emit (nf), or the next frame's receive
    assert res["interval_cycles"] == synapse.frame_cycles(d, nnz) == max(sf, (nnz + 1) * nf)
    # the first frame: receive, compute and emit one after the other, then the pipeline
    assert res["latency_cycles"] == sf + (nnz + 1) * nf + d["pipeline_cycles"]
    return res


@pytest.mark.parametrize("name,density", ICARUS)
def test_synapse_icarus(tmp_path, name, density):
    _check(tmp_path, "icarus", name, density, rom=False)


@pytest.mark.parametrize("name,density", ROM)
def test_synapse_rom_icarus(tmp_path, name, density):
    _check(tmp_path, "icarus", name, density, rom=True, seed=7)


@pytest.mark.parametrize("name,density,rom", VERILATOR)
def test_synapse_verilator(tmp_path, name, density, rom):
    _check(tmp_path, "verilator", name, density, rom=rom, seed=3)


@pytest.mark.parametrize("simulator", ["icarus", pytest.param("verilator", marks=pytest.mark.slow)])
def test_synapse_vectors_per_frame(tmp_path, simulator):
    """A convolution's synapse: 2x3 windows per frame, tlast on the last one's last beat;
    a frame takes the sum over its vectors of max(SF, (nnz + 1) * NF)."""
    op, ins, outs = layer(6, 12, 2, 3, "i4", seed=5, positions=(2, 3))
    rng = np.random.default_rng(11)
    nnz = [0, 3, 12, 1, 6, 0]  # the measured frames' spike counts, window by window
    fixed = [np.stack([frame(rng, 12, n) for n in nnz]).reshape(2, 3, 12) for _ in range(3)]
    rand = [(rng.random((2, 3, 12)) < d).astype(np.int64) for d in DENSITIES for _ in range(2)]
    xs = np.stack(fixed + rand)
    res = run_unit(tmp_path, simulator, op, ins, outs, [xs], frames=len(xs), stall=0.3, seed=2)
    d = synapse.derive(op, ins, outs)
    assert d["vectors"] == 6 and d["cycles"] == 6 * (12 + 1) * 3
    assert res["interval_cycles"] == synapse.frame_cycles(d, nnz) == sum(
        max(4, (n + 1) * 3) for n in nnz)


def test_synapse_lint(tmp_path):
    for i, name in enumerate(CASES):
        for rom in (False, True):
            op, ins, outs = layer(*CASES[name], positions=(3,) if i % 2 else ())
            files = verilog.layer_files(f"l{i}", op, ins, outs, rom_bits=0 if rom else 1 << 30)
            assert any(f.endswith(".mem") for f in files) == rom
            for fname, text in files.items():
                (tmp_path / fname).write_text(text)
            lint((tmp_path / f"l{i}.v",) + rtl(*synapse.CELLS), f"l{i}", cwd=tmp_path)


def test_synapse_golden_is_mvu():
    """The same sums as mvu's golden() on 0/1 inputs without a zero point."""
    from archgen.units import mvu

    op, ins, outs = layer(*CASES["n10k20-pe5simd2-u8"], seed=4)
    xs, _ = spikes(20, 0.3, 4)
    ref = mvu.golden(mvu.Params(op.weight, 0, op.weight_spec), xs)[0]
    assert np.array_equal(synapse.golden(op, xs)[0], ref)
    lo, hi = op.acc_range()
    assert outs[0].quant.lo == lo and outs[0].quant.hi == hi


def test_synapse_rejects():
    with pytest.raises(InternalError, match="must divide"):
        synapse.derive(*layer(6, 8, 4, 2, "i4"))
    with pytest.raises(InternalError, match="must divide"):
        synapse.derive(*layer(6, 8, 2, 3, "i4"))
    op, _, _ = layer(4, 8, 1, 1, "i4")
    with pytest.raises(InternalError, match="spikes"):
        op.infer([Tensor("x", (8,), QuantSpec(bits=4, signed=True))])


def test_synapse_weight_words():
    w = np.arange(24).reshape(4, 6) - 12
    q = QuantSpec(bits=8, signed=True)
    words = synapse.weight_words(w, q, 2)
    assert len(words) == 6 * 2
    for k in range(6):
        for g in range(2):
            for p in range(2):
                assert (words[k * 2 + g] >> (p * 8)) & 0xFF == w[g * 2 + p, k] & 0xFF


@pytest.mark.synth
def test_synapse_synth(tmp_path):
    op, ins, outs = layer(32, 64, 4, 8, "i8", positions=(16,))  # a convolution's 16 windows
    files = verilog.layer_files("dut", op, ins, outs, rom_bits=0)  # weights from the .mem file
    for fname, text in files.items():
        (tmp_path / fname).write_text(text)
    cells = synth((tmp_path / "dut.v",) + rtl(*synapse.CELLS), "dut", cwd=tmp_path)
    print("synapse 64->32 pe4 simd8 i8 (ROM):", cells)
    assert cells.get("FDRE", 0) + cells.get("FDSE", 0) > 0
    assert cells.get("RAMB18E1", 0) + cells.get("RAMB36E1", 0) >= 1  # 512 x 32-bit ROM
