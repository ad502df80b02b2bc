"""ONNX import: QONNX (Brevitas), QDQ (onnxruntime) and float models into the IR.

This module (with onnx_ops.py) is the only door to ONNX: after ``load_onnx`` no
protobuf object survives.  Importers are looked up by (domain, op_type) in the
explicit ``IMPORTERS`` table of onnx_ops.py.

Values during import are one of: ``Const`` (a float/int constant), ``QConst``
(integer codes with a QuantSpec: quantized weights), or the name of an IR tensor.
Nodes whose inputs are all constant are folded (onnx's reference evaluator for
standard ops), so shape arithmetic, weight transposes and weight quantizers vanish.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import Config
from ..errors import InternalError, ModelError, UnsupportedOpError
from ..ir import ops
from ..ir.graph import Graph, Node, Tensor, sanitize
from ..ir.types import QuantSpec

QONNX_DOMAINS = ("qonnx.custom_op.general", "finn.custom_op.general", "onnx.brevitas")
ORT_MAX_IR_VERSION = 13  # onnxruntime 1.31 reads IR versions up to 13


@dataclass(frozen=True)
class Const:
    value: np.ndarray


@dataclass(frozen=True)
class QConst:
    codes: np.ndarray  # int64
    spec: QuantSpec  # per-channel axis refers to the axes of ``codes``

    def real(self) -> np.ndarray:
        return self.spec.dequantize(self.codes[None])[0]


def _attrs(node) -> dict:
    from onnx import helper

    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        out[a.name] = v
    return out


def axis_of(arr: np.ndarray, shape: tuple, what: str) -> tuple[np.ndarray, int | None]:
    """Values of a per-tensor or per-channel parameter and its axis within ``shape``.

    ``arr`` broadcasts against ``shape`` (right-aligned, as ONNX broadcasts), or against
    (batch, *shape).  Returns (flat values, axis or None).
    """
    a = np.asarray(arr)
    if a.size == 1:
        return a.reshape(1), None
    dims = list(a.shape)
    if len(dims) > len(shape):
        extra = dims[: len(dims) - len(shape)]
        if any(d != 1 for d in extra):
            raise ModelError(f"{what}: parameter of shape {a.shape} does not broadcast to {shape}")
        dims = dims[len(dims) - len(shape):]
    offset = len(shape) - len(dims)
    big = [i for i, d in enumerate(dims) if d != 1]
    if len(big) != 1 or dims[big[0]] != shape[offset + big[0]]:
        raise ModelError(f"{what}: parameter of shape {a.shape} is neither per-tensor nor per-channel "
                         f"for a tensor of shape {shape}")
    return a.reshape(-1), offset + big[0]


class Importer:
    """State of one import: the value map, the IR under construction, name allocation."""

    def __init__(self, path: str, config: Config, opset: int):
        self.path = path
        self.config = config
        self.opset = opset
        self.values: dict = {}
        self.nodes: list = []
        self.tensors: dict = {}
        self.taken: set = set()
        self.node = None  # the ONNX node being imported
        self.node_name = ""
        self.readers: dict = {}  # ONNX tensor name -> ONNX nodes reading it
        self.graph_outputs: frozenset = frozenset()  # ONNX names of the graph outputs
        self.absorbed: dict = {}  # id of an ONNX node folded into an earlier one -> value
        self.bn_folded = None  # the batch norm the current float layer absorbed

    @property
    def layer(self) -> str:
        """The IR name of the node being imported: what config files call the layer."""
        return sanitize(self.node_name)

    # -- errors -----------------------------------------------------------------
    def error(self, msg: str, cls=ModelError):
        return cls(f"{self.path}: node {self.node_name} ({self.node.op_type}): {msg}")

    def unsupported(self, msg: str):
        return self.error(msg, UnsupportedOpError)

    # -- names ------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        name = sanitize(hint, self.taken)
        self.taken.add(name)
        return name

    # -- values -----------------------------------------------------------------
    def get(self, name: str):
        if name not in self.values:
            raise self.error(f"input {name!r} is not produced by any node, input or initializer")
        return self.values[name]

    def has_input(self, i: int) -> bool:
        return len(self.node.input) > i and self.node.input[i] != ""

    def input(self, i: int, what: str = ""):
        """The value of input i, which must be present."""
        if not self.has_input(i):
            raise self.error(f"input {i}{' (' + what + ')' if what else ''} is missing "
                             f"(the node has {len(self.node.input)} inputs)")
        return self.get(self.node.input[i])

    def is_const(self, i: int) -> bool:
        return not isinstance(self.input(i), str)

    def const(self, i: int, what: str = "") -> np.ndarray:
        v = self.input(i, what)
        if isinstance(v, str):
            raise self.unsupported(f"input {i} ({what or self.node.input[i]}) must be a constant")
        return v.real() if isinstance(v, QConst) else v.value

    def qconst(self, i: int):
        v = self.input(i)
        return v if isinstance(v, QConst) else None

    def scalar(self, i: int, what: str) -> float:
        v = np.asarray(self.const(i, what))
        if v.size != 1:
            raise self.unsupported(f"{what} must be a scalar, got shape {v.shape}")
        return float(v.reshape(-1)[0])

    def dyn(self, i: int) -> Tensor:
        v = self.input(i)
        if not isinstance(v, str):
            raise self.unsupported(f"input {i} is a constant where a tensor is expected")
        return self.tensors[v]

    def codes(self, i: int) -> Tensor:
        """Input i as quantized codes; float tensors get the configured quantizer."""
        t = self.dyn(i)
        if t.quant is not None:
            return t
        spec = self.config.precision_for(self.layer)
        q = self.emit(ops.Quantize(spec), [t.name], [t.name + "_q"], self.node_name + "_quant")[0]
        return self.tensors[q]

    # -- building ---------------------------------------------------------------
    def emit(self, op, inputs, outputs, name=None) -> list:
        """Add a node; ``outputs`` are hints (ONNX names) for the new tensors' names."""
        ins = [self.tensors[t] for t in inputs]
        try:
            inferred = op.infer(ins)
        except InternalError as e:
            raise self.error(str(e)) from None
        names = []
        for hint, (shape, quant) in zip(outputs, inferred):
            tname = self.fresh(hint)
            if any(d <= 0 for d in shape):
                raise self.error(f"output shape {shape} is empty")
            self.tensors[tname] = Tensor(tname, tuple(shape), quant)
            names.append(tname)
        self.nodes.append(Node(self.fresh(name or self.node_name), op, tuple(inputs), tuple(names)))
        return names

    def emit_out(self, op, inputs, name=None) -> str:
        """Emit a node producing this ONNX node's (first) output."""
        out = self.emit(op, inputs, [self.node.output[0]], name)[0]
        self.values[self.node.output[0]] = out
        return out

    def set_out(self, value, k: int = 0):
        self.values[self.node.output[k]] = value

    def chain(self, src: str, steps, name=None) -> str:
        """Float steps applied to tensor ``src``, producing this node's output."""
        return self.emit_out(ops.Elementwise(tuple(steps)), [src], name)

    def per_sample(self, c: np.ndarray, t: Tensor) -> np.ndarray:
        """An ONNX constant broadcast against (batch, *t.shape) as a per-sample constant."""
        c = np.asarray(c, dtype=np.float64)
        nd = len(t.shape)
        if c.ndim > nd:
            lead = c.shape[: c.ndim - nd]
            if any(d != 1 for d in lead):
                raise self.unsupported(f"constant of shape {c.shape} would broadcast over the batch")
            c = c.reshape(c.shape[c.ndim - nd:])
        try:
            np.broadcast_shapes(c.shape, t.shape)
        except ValueError:
            raise self.error(f"constant of shape {c.shape} does not broadcast to {t.shape}") from None
        if np.broadcast_shapes(c.shape, t.shape) != t.shape:
            raise self.unsupported(f"constant of shape {c.shape} would grow the tensor {t.shape}")
        return c


def _read_model(path: Path):
    import onnx
    from google.protobuf.message import DecodeError

    if not path.exists():
        raise ModelError(f"{path}: no such file")
    if not path.is_file():
        raise ModelError(f"{path}: not a file")
    data = path.read_bytes()
    if not data:
        raise ModelError(f"{path}: empty file, not an ONNX model")
    try:
        model = onnx.ModelProto()
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as e:
        raise ModelError(f"{path}: not a valid ONNX model ({type(e).__name__})") from None
    if not model.HasField("graph") or len(model.graph.node) == 0:
        raise ModelError(f"{path}: not a valid ONNX model (no graph or no nodes)")
    _check_names(model, path)
    return model


def _check_names(model, path):
    """Every name is text (protobuf hands back bytes for invalid UTF-8)."""
    g = model.graph
    groups = [("input", [v.name for v in g.input]), ("output", [v.name for v in g.output]),
              ("initializer", [t.name for t in g.initializer])]
    for k, n in enumerate(g.node):
        groups.append((f"node {k}", [n.name, n.op_type, n.domain, *n.input, *n.output,
                                     *[a.name for a in n.attribute]]))
    for where, names in groups:
        for name in names:
            if not isinstance(name, str):
                raise ModelError(f"{path}: {where} has a name that is not valid UTF-8 text")


def _initializers(model, path) -> dict:
    from onnx import numpy_helper

    values = {}
    for init in model.graph.initializer:
        try:
            arr = numpy_helper.to_array(init)
        except Exception as e:  # external data missing, bad raw bytes
            raise ModelError(f"{path}: initializer {init.name!r} cannot be read ({e})") from None
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ModelError(f"{path}: initializer {init.name!r} contains NaN or Inf")
        values[init.name] = Const(np.asarray(arr))
    return values


def _input_shape(vi, path) -> tuple:
    t = vi.type.tensor_type
    if not vi.type.HasField("tensor_type") or not t.HasField("shape"):
        raise ModelError(f"{path}: input {vi.name!r} has no tensor shape")
    from onnx import TensorProto

    if t.elem_type not in (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16):
        raise UnsupportedOpError(f"{path}: input {vi.name!r} has element type "
                                 f"{TensorProto.DataType.Name(t.elem_type)}; archgen takes float inputs")
    dims = []
    for k, d in enumerate(t.shape.dim):
        if d.HasField("dim_value") and d.dim_value > 0:
            dims.append(int(d.dim_value))
        elif k == 0:
            dims.append(1)
        else:
            sym = d.dim_param or "?"
            raise ModelError(f"{path}: input {vi.name!r} dimension {k} is dynamic ({sym!r}); "
                             "archgen needs fixed shapes except the batch")
    if len(dims) < 2:
        raise ModelError(f"{path}: input {vi.name!r} has shape {dims}; expected (batch, ...)")
    return tuple(dims[1:])


def _toposort(graph, known, path):
    nodes = list(graph.node)
    ready = set(known)
    out = []
    pending = nodes
    while pending:
        rest = []
        for n in pending:
            if all(i == "" or i in ready for i in n.input):
                out.append(n)
                ready.update(n.output)
            else:
                rest.append(n)
        if len(rest) == len(pending):
            missing = sorted({i for n in rest for i in n.input if i and i not in ready})
            raise ModelError(f"{path}: graph has a cycle or undefined inputs ({', '.join(missing[:4])})")
        pending = rest
    return out


def _fold(imp: Importer, node, attrs):
    """Evaluate a standard node whose inputs are all constant."""
    from onnx import helper
    from onnx.reference import ReferenceEvaluator

    ins = [imp.get(i) if i else None for i in node.input]
    arrays = [None if v is None else (v.real() if isinstance(v, QConst) else v.value) for v in ins]
    names = [f"i{k}" if i else "" for k, i in enumerate(node.input)]
    outs = [f"o{k}" for k in range(len(node.output))]
    n = helper.make_node(node.op_type, names, outs, domain=node.domain, **attrs)
    g = helper.make_graph(
        [n], "fold",
        [helper.make_tensor_value_info(nm, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
         for nm, a in zip(names, arrays) if nm],
        [helper.make_empty_tensor_value_info(o) for o in outs])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", imp.opset)])
    m.ir_version = min(m.ir_version, ORT_MAX_IR_VERSION)
    try:
        res = ReferenceEvaluator(m).run(None, {nm: a for nm, a in zip(names, arrays) if nm})
    except Exception as e:
        raise imp.error(f"cannot fold constant node ({type(e).__name__}: {e})") from None
    for k, r in enumerate(res):
        imp.values[node.output[k]] = Const(np.asarray(r))


def load_onnx(path: str | Path, config: Config | None = None) -> Graph:
    """Import an ONNX file into a verified IR Graph."""
    from .onnx_ops import IMPORTERS, CONST_IMPORTERS, supported

    config = config or Config()
    path = Path(path)
    model = _read_model(path)
    opset = 13
    for imp_ in model.opset_import:
        if imp_.domain in ("", "ai.onnx"):
            opset = imp_.version
    imp = Importer(str(path), config, opset)
    imp.graph_outputs = frozenset(vo.name for vo in model.graph.output)
    imp.values.update(_initializers(model, path))
    graph_inputs = []
    for vi in model.graph.input:
        if vi.name in imp.values:
            continue  # an initializer listed as input (old exporters)
        shape = _input_shape(vi, path)
        name = imp.fresh(vi.name)
        imp.tensors[name] = Tensor(name, shape, None)
        imp.values[vi.name] = name
        graph_inputs.append(name)
    if not graph_inputs:
        raise ModelError(f"{path}: the graph has no inputs")
    order = _toposort(model.graph, imp.values.keys(), path)
    for node in order:
        for i in node.input:
            imp.readers.setdefault(i, []).append(node)
    for k, node in enumerate(order):
        domain = "" if node.domain in ("", "ai.onnx") else node.domain
        imp.node = node
        imp.node_name = node.name or f"{node.op_type}_{k}"
        if id(node) in imp.absorbed:
            imp.values[node.output[0]] = imp.absorbed.pop(id(node))
            continue
        attrs = _attrs(node)
        key = (domain, node.op_type)
        if key in IMPORTERS:
            pass
        elif key not in CONST_IMPORTERS:
            raise UnsupportedOpError(
                f"{path}: node {imp.node_name}: op {node.op_type} (domain {domain or 'ai.onnx'!r}) "
                f"is not supported; supported: {supported()}")
        try:
            _import_node(imp, node, attrs, key, domain, IMPORTERS, CONST_IMPORTERS)
        except (IndexError, KeyError, TypeError, AttributeError, ValueError) as e:
            # a malformed node that no explicit check caught: still one clear line
            raise imp.error(f"malformed node ({type(e).__name__}: {e})") from None
    outputs = []
    for vo in model.graph.output:
        v = imp.values.get(vo.name)
        if not isinstance(v, str):
            raise ModelError(f"{path}: output {vo.name!r} is a constant or not produced")
        outputs.append(v)
    if len(set(outputs)) != len(outputs):
        raise UnsupportedOpError(f"{path}: two graph outputs are the same tensor")
    graph = Graph(sanitize(model.graph.name or path.stem), imp.nodes, imp.tensors,
                  graph_inputs, outputs)
    return graph.rebuild(_live_nodes(graph))


def _import_node(imp, node, attrs, key, domain, importers, const_importers):
    all_const = all(i == "" or not isinstance(imp.get(i), str) for i in node.input)
    if all_const and key in const_importers:
        const_importers[key](imp, node, attrs)
    elif all_const and domain == "":
        _fold(imp, node, attrs)
    elif key in importers:
        importers[key](imp, node, attrs)
    else:
        raise imp.unsupported("only supported on constant inputs")


def _live_nodes(graph: Graph) -> list:
    """Nodes that contribute to an output (dead branches of the export are dropped)."""
    need = set(graph.outputs)
    keep = []
    for n in reversed(graph.nodes):
        if need.intersection(n.outputs):
            keep.append(n)
            need.update(n.inputs)
    return list(reversed(keep))
