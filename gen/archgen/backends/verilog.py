"""Verilog backend: one module per layer (a template wiring a hand-written cell), a top
level joining them by AXI4-Stream, weight memories, and the simulation/project files."""

from __future__ import annotations

from ..units import unit_of
from .render import render

ROM_BITS = 1 << 16  # weight memories larger than this become $readmemh ROM files


def mem_text(words, bits: int) -> str:
    """A $readmemh file: one word per line, hex, zero-padded to the word width."""
    digits = max(1, (bits + 3) // 4)
    mask = (1 << bits) - 1
    return "".join(f"{int(w) & mask:0{digits}x}\n" for w in words)


def layer_files(name: str, op, ins, outs, rom_bits: int = ROM_BITS) -> dict:
    """{file name: text} of the layer module ``name`` for unit params ``op``.

    ``ins``/``outs`` are the IR Tensors on the unit's streams.  A unit's context may hold
    ``mems``: {key: (word_bits, [words])}; each memory larger than ``rom_bits`` is written
    to ``<name>_<key>.mem`` and the template gets ``<key>_file`` set to that name (an
    empty string: the words go into the module as a constant)."""
    unit = unit_of(op)
    ctx = unit.context(op, ins, outs)
    files = {}
    for key, (bits, words) in ctx.get("mems", {}).items():
        fname = ""
        if bits * len(words) > rom_bits:
            fname = f"{name}_{key}.mem"
            files[fname] = mem_text(words, bits)
        ctx[f"{key}_file"] = fname
    files[f"{name}.v"] = render(f"verilog/{op.kind()}.v.j2", name=name, **ctx)
    return files


def cells(op) -> tuple:
    """The hw/rtl files the unit's layer module instantiates."""
    return unit_of(op).CELLS
