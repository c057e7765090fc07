"""Read an int8 ``.tflite`` flatbuffer into a small, validated graph.

Everything the kernels rely on is checked here, once: a model that passes :func:`load_graph`
compiles to C that is bit-exact with the tflite-micro interpreter, and anything else is refused
with one :class:`~kws.errors.KwsError` naming the op, tensor and property.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kws.deploy import ops
from kws.deploy.ops.common import fail, tensor_label
from kws.errors import KwsError

# tflite TensorType code -> name, for the codes we can meet.
TYPE_NAMES = {
    0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 5: "string", 6: "bool",
    7: "int16", 9: "int8", 10: "float64", 17: "int4",
}
_NUMPY_TYPES = {2: np.int32, 9: np.int8, 0: np.float32, 4: np.int64, 7: np.int16, 3: np.uint8}

@dataclass
class Tensor:
    """One tensor of the graph: shape, type, quantization and (for constants) data."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    scales: np.ndarray  # float32, possibly empty
    zero_points: np.ndarray  # int64, possibly empty
    quantized_dimension: int
    data: np.ndarray | None = None  # constant tensors only

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def scale(self) -> float:
        return float(self.scales[0])

    @property
    def zero_point(self) -> int:
        return int(self.zero_points[0])


@dataclass
class Op:
    """One operator: kind (builtin name), tensor indices and decoded options."""

    index: int
    kind: str
    inputs: list[int]
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)

    def label(self) -> str:
        return f"op {self.index} ({self.kind})"


@dataclass
class Graph:
    """A validated int8 model: tensors, ops in execution order, one input and one output."""

    path: Path
    tensors: list[Tensor]
    ops: list[Op]
    input: int
    output: int

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]


def builtin_names() -> dict[int, str]:
    """tflite builtin operator code -> name (``"CONV_2D"``)."""
    import tflite

    return {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}


def builtin_code(model: Any, op_table: Any) -> int:
    """The builtin code of an operator table of ``model``."""
    code = model.OperatorCodes(op_table.OpcodeIndex())
    # Schema v3a moved codes above 127 to BuiltinCode; old files keep the deprecated byte.
    return max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))


def _decode_options(op_table: Any, kind: str) -> dict[str, Any]:
    import tflite

    spec = ops.get(kind)
    if spec is None:
        return {}
    table = op_table.BuiltinOptions()
    if spec.options_class is None or spec.decode is None:
        return {}
    if table is None:
        # Absent options table: every field takes its schema default.
        return {"missing": True}
    opts = getattr(tflite, spec.options_class)()
    opts.Init(table.Bytes, table.Pos)
    return spec.decode(opts)


def _read_tensors(path: Path, model: Any, subgraph: Any) -> list[Tensor]:
    tensors = []
    for i in range(subgraph.TensorsLength()):
        t = subgraph.Tensors(i)
        name = (t.Name() or b"").decode("utf-8", "replace")
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        type_code = int(t.Type())
        dtype = TYPE_NAMES.get(type_code, f"type{type_code}")
        q = t.Quantization()
        scales = np.zeros(0, np.float32)
        zero_points = np.zeros(0, np.int64)
        qdim = 0
        if q is not None:
            if q.ScaleLength():
                scales = q.ScaleAsNumpy().astype(np.float32)
            if q.ZeroPointLength():
                zero_points = q.ZeroPointAsNumpy().astype(np.int64)
            qdim = int(q.QuantizedDimension())
        if t.IsVariable():
            raise KwsError(f"{path}: tensor {i} '{name}' is a variable (stateful models are "
                           "not supported)")
        if t.Sparsity() is not None:
            raise KwsError(f"{path}: tensor {i} '{name}' is sparse (not supported)")
        data = None
        buffer = model.Buffers(t.Buffer()) if t.Buffer() < model.BuffersLength() else None
        if buffer is not None and buffer.Offset() > 1:
            raise KwsError(f"{path}: tensor {i} '{name}' keeps its data outside the flatbuffer "
                           "(models over 2 GB are not supported)")
        if buffer is not None and buffer.DataLength() > 0:
            np_type = _NUMPY_TYPES.get(type_code)
            if np_type is None:
                raise KwsError(f"{path}: constant tensor {i} '{name}' has type {dtype} "
                               "(not supported)")
            raw = buffer.DataAsNumpy().tobytes()
            data = np.frombuffer(raw, dtype=np.dtype(np_type).newbyteorder("<")).astype(np_type)
            if data.size != (int(np.prod(shape)) if shape else 1):
                raise KwsError(f"{path}: constant tensor {i} '{name}' holds {data.size} values "
                               f"but its shape {list(shape)} needs {int(np.prod(shape))}")
            data = data.reshape(shape)
        tensors.append(Tensor(i, name, shape, dtype, scales, zero_points, qdim, data))
    return tensors


def _read_ops(model: Any, subgraph: Any) -> list[Op]:
    names = builtin_names()
    graph_ops = []
    for i in range(subgraph.OperatorsLength()):
        op = subgraph.Operators(i)
        builtin = builtin_code(model, op)
        kind = names.get(builtin, f"builtin {builtin}")
        if kind == "CUSTOM":
            code = model.OperatorCodes(op.OpcodeIndex())
            custom = (code.CustomCode() or b"").decode("utf-8", "replace")
            kind = f"CUSTOM ({custom})"
        inputs = [int(x) for x in op.InputsAsNumpy()] if op.InputsLength() else []
        outputs = [int(x) for x in op.OutputsAsNumpy()] if op.OutputsLength() else []
        graph_ops.append(Op(i, kind, inputs, outputs, _decode_options(op, kind)))
    return graph_ops


def load_graph(tflite_path: str | Path) -> Graph:
    """Parse and validate ``tflite_path``; raise :class:`KwsError` for anything unsupported.

    Parameters
    ----------
    tflite_path
        A fully int8-quantized ``.tflite`` model (int8 input and output, batch 1).

    Returns
    -------
    Graph
        Tensors and ops in execution order.
    """
    from kws.modelinfo import check_tflite_bytes, read_model_file

    path = Path(tflite_path)
    model = check_tflite_bytes(path, read_model_file(path))
    n_subgraphs = model.SubgraphsLength()
    if n_subgraphs != 1:
        raise KwsError(f"{path}: model has {n_subgraphs} subgraphs (exactly 1 is supported)")
    try:
        subgraph = model.Subgraphs(0)
        tensors = _read_tensors(path, model, subgraph)
        graph_ops = _read_ops(model, subgraph)
        graph_inputs = [int(x) for x in subgraph.InputsAsNumpy()]
        graph_outputs = [int(x) for x in subgraph.OutputsAsNumpy()]
    except KwsError:
        raise
    except Exception as exc:
        raise KwsError(f"{path}: corrupt .tflite flatbuffer ({exc})") from exc
    if len(graph_inputs) != 1 or len(graph_outputs) != 1:
        raise KwsError(f"{path}: model has {len(graph_inputs)} inputs and {len(graph_outputs)} "
                       "outputs (exactly one of each is supported)")
    graph = Graph(path, tensors, graph_ops, graph_inputs[0], graph_outputs[0])
    _validate(graph)
    return graph


# --------------------------------------------------------------------------------------------
# Validation


def _check_activation_tensor(graph: Graph, op: Op, t: Tensor, role: str) -> None:
    where = f"{op.label()} {role} {tensor_label(t)}"
    if t.dtype != "int8":
        raise fail(graph, where, f"type is {t.dtype} (only int8 activations are supported; "
                   "export with full-integer int8 quantization)")
    if t.scales.size != 1 or t.zero_points.size != 1:
        raise fail(graph, where, "needs one per-tensor scale and zero point "
                   f"(has {t.scales.size} scales, {t.zero_points.size} zero points)")
    if not (t.scale > 0 and np.isfinite(t.scale)):
        raise fail(graph, where, f"scale {t.scale} is not a positive finite number")
    if not -128 <= t.zero_point <= 127:
        raise fail(graph, where, f"zero point {t.zero_point} is outside int8")
    if t.data is not None:
        raise fail(graph, where, "is a constant (constant activations are not supported)")
    if t.shape and t.shape[0] != 1:
        raise fail(graph, where, f"batch dimension is {t.shape[0]} (only batch 1 is supported)")
    if any(d <= 0 for d in t.shape):
        raise fail(graph, where, f"shape {list(t.shape)} is not fully static")


def _validate(graph: Graph) -> None:
    produced: set[int] = {graph.input}
    for op in graph.ops:
        spec = ops.get(op.kind)
        if spec is None:
            hint = ""
            if op.kind in ("QUANTIZE", "DEQUANTIZE"):
                hint = " (model has float input/output: export with int8 input and output)"
            raise fail(graph, op.label(), f"op {op.kind} is not supported{hint}; supported: "
                       + ", ".join(ops.SUPPORTED_OPS))
        if len(op.outputs) != 1:
            raise fail(graph, op.label(), f"has {len(op.outputs)} outputs (expected 1)")
        inp = graph.tensor(op.inputs[0])
        out = graph.tensor(op.outputs[0])
        if inp.index not in produced:
            raise fail(graph, op.label(), f"input {tensor_label(inp)} is not produced by an "
                       "earlier op (ops must be in execution order)")
        _check_activation_tensor(graph, op, inp, "input")
        _check_activation_tensor(graph, op, out, "output")
        produced.add(out.index)
        spec.validate(graph, op, inp, out)
    if graph.output not in produced:
        raise fail(graph, "graph output", "is not produced by any op")
    for role, index in (("input", graph.input), ("output", graph.output)):
        t = graph.tensor(index)
        if t.dtype != "int8":
            raise fail(graph, f"model {role} {tensor_label(t)}", f"type is {t.dtype} "
                       "(export with int8 input and output)")
