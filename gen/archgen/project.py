"""The project folder ``archgen generate`` writes, and the rules that keep it safe.

Files are deterministic (no dates, absolute paths or hashes inside them); everything
that varies between machines or runs (versions, the model's hash) goes into
``manifest.json``, which also marks the folder as archgen's:

- a folder that exists, is not empty and has no archgen manifest is refused (unless
  ``force``); with ``force`` only archgen's own file names are overwritten;
- in a folder with a manifest, only files listed in that manifest are overwritten;
- nothing is ever deleted; every file is written atomically (temp file + rename).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

from .errors import ConfigError, ModelError

GENERATOR = "archgen"
MANIFEST = "manifest.json"
DEFAULT_BACKENDS = ("verilog",)


def check_backends(backends) -> tuple:
    """Validated backend names ('all' expands; none given: the default); raises for an
    unknown backend or one not available yet."""
    from .backends import BACKENDS, get_backend

    names = []
    for b in backends or DEFAULT_BACKENDS:
        expanded = BACKENDS if b == "all" else (b,)
        for name in expanded:
            get_backend(name)
            if name not in names:
                names.append(name)
    return tuple(names)


def _check_name(name: str) -> None:
    """A project file path: relative, no '..', no empty parts."""
    parts = name.split("/")
    if name.startswith("/") or any(p in ("", ".", "..") for p in parts) or name == MANIFEST:
        raise ConfigError(f"project file name {name!r} is not a plain relative path")


def json_text(data) -> str:
    """Deterministic JSON: sorted keys, two-space indent, trailing newline."""
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``path`` through a temporary file in the same folder and os.replace."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_manifest(out_dir: Path) -> dict | None:
    """The archgen manifest of ``out_dir``, or None when the folder is not archgen's."""
    p = Path(out_dir) / MANIFEST
    if not p.is_file():
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("generator") != GENERATOR:
        return None
    return data


def check_out_dir(out_dir: Path, names, force: bool = False) -> None:
    """Raise unless writing files ``names`` into ``out_dir`` keeps the safety rules."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"{out_dir}: output path exists and is not a folder")
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return
    manifest = read_manifest(out_dir)
    if manifest is None:
        if force:
            return
        raise ConfigError(f"{out_dir}: folder is not empty and was not written by archgen "
                          "(no archgen manifest.json); choose another folder or pass --force")
    ours = set(manifest.get("files", [])) | {MANIFEST}
    for name in names:
        p = out_dir / name
        if p.exists() and name not in ours and not force:
            raise ConfigError(f"{p}: file exists and was not written by archgen; "
                              "remove it or pass --force")
        if p.exists() and not p.is_file():
            raise ConfigError(f"{p}: exists and is not a file")


def _versions() -> dict:
    import numpy

    from . import __version__

    out = {"archgen": __version__, "python": ".".join(map(str, sys.version_info[:3])),
           "numpy": numpy.__version__}
    try:
        import onnx

        out["onnx"] = onnx.__version__
    except ImportError:  # pragma: no cover - onnx is a dependency
        out["onnx"] = None
    return out


def write_project(model, out_dir, force: bool = False, backends=(), options: dict | None = None,
                  extra_files: dict | None = None) -> list:
    """Write the project folder for ``model`` (an archgen.Model); return the files written.

    ``options`` are recorded in the manifest (the command-line options); ``extra_files``
    maps more file names to bytes/str contents (e.g. the demo's inputs and outputs).
    """
    backends = check_backends(backends)
    out_dir = Path(out_dir)
    from .spiking import is_spiking, steps_of

    if is_spiking(model.graph) and not steps_of(model.graph):
        raise ConfigError(f"{model.path}: a spiking model's hardware is built for a number of "
                          "time steps per sample: give --time-steps T (or snn.time_steps in "
                          "the config)")
    files = {
        "ir.json": json_text(model.graph.to_json()),
        "ir.txt": str(model.graph) + "\n",
        "source_ir.txt": str(model.source) + "\n",
    }
    model_path = Path(model.path)
    try:
        # the model itself, so that `archgen sim DIR` can rebuild the golden model
        files[f"model/{model_path.name}"] = model_path.read_bytes()
    except OSError as e:
        raise ModelError(f"{model_path}: cannot read the model ({e.strerror})") from None
    from .backends import get_backend

    for b in backends:
        for name, data in get_backend(b).files(model).items():
            _check_name(name)
            files[name] = data
    for name, data in (extra_files or {}).items():
        _check_name(name)
        if name in files:
            raise ConfigError(f"project file name {name!r} is already written by archgen")
        files[name] = data
    names = sorted(files)
    check_out_dir(out_dir, names + [MANIFEST], force)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in names:
            (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"{out_dir}: cannot create the output folder ({e.strerror})") from None
    try:
        digest = sha256_file(model_path)
    except OSError as e:
        raise ModelError(f"{model_path}: cannot read the model ({e.strerror})") from None
    manifest = {
        "generator": GENERATOR,
        "versions": _versions(),
        "model": {"file": model_path.name, "sha256": digest},
        "config": model.config.to_json(),
        "options": dict(sorted((options or {}).items())),
        "backends": list(backends),
        "files": names,
    }
    try:
        for name in names:
            write_atomic(out_dir / name, files[name])
        write_atomic(out_dir / MANIFEST, json_text(manifest))  # last: marks a complete project
    except OSError as e:
        raise ConfigError(f"{out_dir}: cannot write the project ({e.strerror}: {e.filename})") from None
    return names + [MANIFEST]
