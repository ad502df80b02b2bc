"""C simulation of the HLS C++: g++ against Xilinx's open-source ap_types headers.

The headers come from ``$XILINX_HLS/include`` when that is set, else from the ``hls4ml``
wheel (installed from PyPI by the ``hls`` extra; found at run time, never copied into
this repository).  Builds are cached by the hash of their sources and flags.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from .errors import ToolNotFoundError

CXXFLAGS = ("-std=c++14", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter",
            "-Wno-unknown-pragmas")


def ap_types_dir() -> Path:
    """The folder holding ap_int.h and hls_stream.h."""
    xilinx = os.environ.get("XILINX_HLS")
    if xilinx:
        inc = Path(xilinx) / "include"
        if (inc / "ap_int.h").is_file():
            return inc
        raise ToolNotFoundError(f"XILINX_HLS={xilinx}: {inc}/ap_int.h not found")
    try:
        import importlib.util

        spec = importlib.util.find_spec("hls4ml")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin:
        inc = Path(spec.origin).parent / "templates" / "vivado" / "ap_types"
        if (inc / "ap_int.h").is_file() and (inc / "hls_stream.h").is_file():
            return inc
    raise ToolNotFoundError("ap_types: set XILINX_HLS to a Vitis HLS installation, or install "
                            "the open-source headers with pip install 'archgen[hls]' (hls4ml)")


def compiler() -> str:
    cxx = os.environ.get("CXX") or "g++"
    if shutil.which(cxx) is None:
        raise ToolNotFoundError(f"{cxx}: C++ compiler not found (Debian: apt-get install g++)")
    return cxx


def available() -> str | None:
    """None when C simulation can run here, else why not (for pytest.skip)."""
    try:
        compiler()
        ap_types_dir()
    except ToolNotFoundError as e:
        return str(e)
    return None


def build(sources, include_dirs=(), flags=CXXFLAGS, name: str = "csim") -> tuple[Path, str]:
    """Compile ``sources`` (the .cpp files; headers found through ``include_dirs``) once;
    returns (executable, compiler warnings)."""
    from .simulate import _lock, cache_root

    cxx = compiler()
    incs = [ap_types_dir()] + [Path(d) for d in include_dirs]
    h = hashlib.sha256()
    h.update(" ".join([cxx, *flags]).encode())
    for d in incs[1:]:
        for f in sorted(Path(d).glob("*.h")):
            h.update(f.name.encode() + b"\0" + f.read_bytes())
    for s in sources:
        h.update(Path(s).name.encode() + b"\0" + Path(s).read_bytes())
    h.update(str(incs[0]).encode())
    key = h.hexdigest()[:24]
    out = cache_root() / "csim" / f"{name}-{key}"
    exe = out / name
    if exe.is_file():
        return exe, (out / "warnings.txt").read_text()
    with _lock(cache_root() / "locks" / f"csim-{key}.lock"):
        if exe.is_file():
            return exe, (out / "warnings.txt").read_text()
        out.mkdir(parents=True, exist_ok=True)
        cmd = [cxx, *flags, *[f"-I{d}" for d in incs], *map(str, sources), "-o", str(exe) + ".tmp"]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise ToolNotFoundError(f"{cxx}: compiling {', '.join(Path(s).name for s in sources)} "
                                    f"failed: {res.stderr.strip()[-1500:]}")
        (out / "warnings.txt").write_text(res.stderr)
        os.replace(str(exe) + ".tmp", exe)
    return exe, res.stderr
