"""Graph, Node and Tensor: the frozen, validated containers of the IR.

Shapes are per sample: the batch dimension is implicit and always first at run time.
A Graph is immutable; passes build new graphs with ``Graph.replace`` / ``rebuild``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from ..errors import InternalError
from .ops import Op
from .types import QuantSpec

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# keywords of Verilog-2005, SystemVerilog and C++ that a generated identifier must avoid
RESERVED = frozenset("""
always and assign automatic begin buf bufif0 bufif1 case casex casez cell cmos config deassign
default defparam design disable edge else end endcase endconfig endfunction endgenerate
endmodule endprimitive endspecify endtable endtask event for force forever fork function
generate genvar highz0 highz1 if ifnone incdir include initial inout input instance integer
join large liblist library localparam macromodule medium module nand negedge nmos nor
noshowcancelled not notif0 notif1 or output parameter pmos posedge primitive pull0 pull1
pulldown pullup pulsestyle_ondetect pulsestyle_onevent rcmos real realtime reg release repeat
rnmos rpmos rtran rtranif0 rtranif1 scalared showcancelled signed small specify specparam
strong0 strong1 supply0 supply1 table task time tran tranif0 tranif1 tri tri0 tri1 triand
trior trireg unsigned use uwire vectored wait wand weak0 weak1 while wire wor xnor xor
logic bit byte int shortint longint class interface package import export typedef struct
union enum void return break continue const static virtual extern this new delete auto bool
char double float long short switch namespace template typename using operator private
protected public friend inline volatile register sizeof goto do try catch throw true false
""".split())


def sanitize(name: str, taken: Iterable[str] = ()) -> str:
    """A Verilog/C/Python-safe identifier from a model name, unique among ``taken``."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_") or "t"
    if base[0].isdigit():
        base = "t_" + base
    base = re.sub(r"_+", "_", base)
    if base in RESERVED:
        base += "_"
    taken = set(taken)
    out, i = base, 1
    while out in taken:
        out = f"{base}_{i}"
        i += 1
    return out


@dataclass(frozen=True)
class Tensor:
    """A value flowing between nodes: per-sample shape, and codes' QuantSpec (None: float)."""

    name: str
    shape: tuple
    quant: QuantSpec | None = None

    def __post_init__(self):
        if not _NAME.match(self.name):
            raise InternalError(f"tensor name {self.name!r} is not a sanitized identifier")
        shape = tuple(int(d) for d in self.shape)
        if any(d <= 0 for d in shape):
            raise InternalError(f"tensor {self.name}: shape {shape} has a non-positive dimension")
        object.__setattr__(self, "shape", shape)
        if self.quant is not None and self.quant.per_channel:
            ax = self.quant.axis
            if not 0 <= ax < len(shape) or shape[ax] != self.quant.channels:
                raise InternalError(f"tensor {self.name}: per-channel spec over axis {ax} "
                                    f"({self.quant.channels} channels) does not fit shape {shape}")

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    def __str__(self) -> str:
        dims = "x".join(str(d) for d in self.shape) or "scalar"
        return f"%{self.name}:{self.quant if self.quant else 'f64'}[{dims}]"


@dataclass(frozen=True)
class Node:
    name: str
    op: Op
    inputs: tuple
    outputs: tuple

    def __post_init__(self):
        if not _NAME.match(self.name):
            raise InternalError(f"node name {self.name!r} is not a sanitized identifier")
        if not isinstance(self.op, Op):
            raise InternalError(f"node {self.name}: op {self.op!r} is not an ir Op")
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))


@dataclass(frozen=True)
class Graph:
    """Nodes in topological order, the tensors they exchange, and the graph boundary."""

    name: str
    nodes: tuple
    tensors: dict = field(compare=False)
    inputs: tuple
    outputs: tuple

    def __post_init__(self):
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        object.__setattr__(self, "tensors", dict(self.tensors))

    # -- queries --------------------------------------------------------------------
    def tensor(self, name: str) -> Tensor:
        return self.tensors[name]

    def producer(self, tensor: str) -> Node | None:
        for n in self.nodes:
            if tensor in n.outputs:
                return n
        return None

    def consumers(self, tensor: str) -> list:
        return [n for n in self.nodes if tensor in n.inputs]

    # -- building -------------------------------------------------------------------
    def rebuild(self, nodes, tensors=None, inputs=None, outputs=None) -> "Graph":
        """A new graph with these nodes; tensors no node or boundary uses are dropped."""
        tensors = dict(self.tensors if tensors is None else tensors)
        inputs = self.inputs if inputs is None else tuple(inputs)
        outputs = self.outputs if outputs is None else tuple(outputs)
        used = set(inputs) | set(outputs)
        for n in nodes:
            used.update(n.inputs)
            used.update(n.outputs)
        return Graph(self.name, tuple(nodes), {k: v for k, v in tensors.items() if k in used},
                     inputs, outputs)

    # -- printing -------------------------------------------------------------------
    def __str__(self) -> str:
        lines = [f"graph {self.name}(" + ", ".join(str(self.tensors[i]) for i in self.inputs) + ")"]
        for n in self.nodes:
            outs = ", ".join(str(self.tensors[o]) for o in n.outputs)
            ins = ", ".join("%" + i for i in n.inputs)
            lines.append(f"  {outs} = {n.op.summary()}({ins})  # {n.name}")
        lines.append("  return " + ", ".join("%" + o for o in self.outputs))
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "tensors": {k: {"shape": list(t.shape),
                            "quant": t.quant.to_json() if t.quant else None}
                        for k, t in self.tensors.items()},
            "nodes": [{"name": n.name, "op": type(n.op).kind(), "summary": n.op.summary(),
                       "inputs": list(n.inputs), "outputs": list(n.outputs),
                       "params": n.op.to_json()} for n in self.nodes],
        }
