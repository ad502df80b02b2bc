"""The one strict Jinja2 environment every template is rendered with.

Templates only wire cells: every value they print is computed in Python (the units'
``context()``); the filters here only format numbers as Verilog/C++ literals.
"""

from __future__ import annotations

from functools import lru_cache

import jinja2

from ..resources import resource_dir


def packed(values, bits: int) -> str:
    """Verilog sized hex literal of ``values`` packed little-endian (element 0 in the low
    bits), each as a ``bits``-bit two's complement field."""
    vals = [int(v) for v in values]
    width = max(1, len(vals) * bits)
    mask = (1 << bits) - 1
    word = 0
    for i, v in enumerate(vals):
        word |= (v & mask) << (i * bits)
    return f"{width}'h{word:0{(width + 3) // 4}x}"


def vbool(value) -> str:
    return "1" if value else "0"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resource_dir("templates"))),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True, autoescape=False)
    env.filters["packed"] = packed
    env.filters["vbool"] = vbool
    return env


def render(template: str, **ctx) -> str:
    return environment().get_template(template).render(**ctx)
