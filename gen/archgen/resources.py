"""Find the data folders (templates/, hw/, sim/) in a checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

from .errors import InternalError

RESOURCES = ("templates", "hw", "sim")


def resource_dir(name: str) -> Path:
    """The folder ``name`` (one of templates, hw, sim).

    In an installed wheel it is ``archgen/_resources/<name>`` (mapped there by setup.py);
    in a checkout (or an editable install) it is ``<repo root>/<name>``.
    """
    if name not in RESOURCES:
        raise InternalError(f"resource {name!r} is not one of {', '.join(RESOURCES)}")
    here = Path(__file__).resolve().parent
    installed = here / "_resources" / name
    if installed.is_dir():
        return installed
    root = here.parents[1]  # gen/archgen -> repo root
    checkout = root / name
    if checkout.is_dir() and (root / "pyproject.toml").is_file():
        return checkout
    raise InternalError(f"resource folder {name!r} not found in {installed} or {checkout}; "
                        "the installation is incomplete")
