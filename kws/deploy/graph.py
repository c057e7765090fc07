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

from kws.errors import KwsError

# tflite TensorType codes we can meet.
_TYPE_NAMES = {
    0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 5: "string", 6: "bool",
    7: "int16", 9: "int8", 10: "float64", 17: "int4",
}
_NUMPY_TYPES = {2: np.int32, 9: np.int8, 0: np.float32, 4: np.int64, 7: np.int16, 3: np.uint8}

SUPPORTED_OPS = (
    "CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX",
    "RESHAPE",
)
_ACTIVATIONS = {0: "NONE", 1: "RELU", 3: "RELU6"}
_ACTIVATION_NAMES = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}


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


def _builtin_names() -> dict[int, str]:
    import tflite

    return {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}


def _decode_options(op_table: Any, kind: str) -> dict[str, Any]:
    import tflite

    table = op_table.BuiltinOptions()
    classes = {
        "CONV_2D": tflite.Conv2DOptions,
        "DEPTHWISE_CONV_2D": tflite.DepthwiseConv2DOptions,
        "AVERAGE_POOL_2D": tflite.Pool2DOptions,
        "FULLY_CONNECTED": tflite.FullyConnectedOptions,
        "SOFTMAX": tflite.SoftmaxOptions,
        "MEAN": tflite.ReducerOptions,
    }
    cls = classes.get(kind)
    if cls is None:
        return {}
    opts = cls()
    if table is None:
        # Absent options table: every field takes its schema default.
        return {"missing": True}
    opts.Init(table.Bytes, table.Pos)
    out: dict[str, Any] = {}
    if kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D"):
        out["padding"] = "SAME" if opts.Padding() == tflite.Padding.SAME else "VALID"
        out["stride_h"], out["stride_w"] = int(opts.StrideH()), int(opts.StrideW())
        out["activation"] = int(opts.FusedActivationFunction())
    if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        out["dilation_h"] = int(opts.DilationHFactor())
        out["dilation_w"] = int(opts.DilationWFactor())
    if kind == "DEPTHWISE_CONV_2D":
        out["depth_multiplier"] = int(opts.DepthMultiplier())
    if kind == "AVERAGE_POOL_2D":
        out["filter_h"], out["filter_w"] = int(opts.FilterHeight()), int(opts.FilterWidth())
    if kind == "FULLY_CONNECTED":
        out["activation"] = int(opts.FusedActivationFunction())
        out["weights_format"] = int(opts.WeightsFormat())
        out["keep_num_dims"] = bool(opts.KeepNumDims())
        out["asymmetric_quantize_inputs"] = bool(opts.AsymmetricQuantizeInputs())
    if kind == "SOFTMAX":
        out["beta"] = float(np.float32(opts.Beta()))
    if kind == "MEAN":
        out["keep_dims"] = bool(opts.KeepDims())
    return out


def _read_tensors(path: Path, model: Any, subgraph: Any) -> list[Tensor]:
    tensors = []
    for i in range(subgraph.TensorsLength()):
        t = subgraph.Tensors(i)
        name = (t.Name() or b"").decode("utf-8", "replace")
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        type_code = int(t.Type())
        dtype = _TYPE_NAMES.get(type_code, f"type{type_code}")
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
    import tflite

    path = Path(tflite_path)
    try:
        buf = path.read_bytes()
    except OSError as exc:
        raise KwsError(f"{path}: cannot read model ({exc.strerror or exc})") from exc
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise KwsError(f"{path}: not a .tflite flatbuffer (missing TFL3 identifier)")
    try:
        model = tflite.Model.GetRootAsModel(buf, 0)
        n_subgraphs = model.SubgraphsLength()
    except Exception as exc:  # flatbuffers raises assorted errors on corrupt data
        raise KwsError(f"{path}: corrupt .tflite flatbuffer ({exc})") from exc
    if n_subgraphs != 1:
        raise KwsError(f"{path}: model has {n_subgraphs} subgraphs (exactly 1 is supported)")
    try:
        subgraph = model.Subgraphs(0)
        tensors = _read_tensors(path, model, subgraph)
        names = _builtin_names()
        ops = []
        for i in range(subgraph.OperatorsLength()):
            op = subgraph.Operators(i)
            code = model.OperatorCodes(op.OpcodeIndex())
            builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
            kind = names.get(builtin, f"builtin {builtin}")
            if kind == "CUSTOM":
                custom = (code.CustomCode() or b"").decode("utf-8", "replace")
                kind = f"CUSTOM ({custom})"
            inputs = [int(x) for x in op.InputsAsNumpy()] if op.InputsLength() else []
            outputs = [int(x) for x in op.OutputsAsNumpy()] if op.OutputsLength() else []
            options = _decode_options(op, kind) if kind in SUPPORTED_OPS else {}
            ops.append(Op(i, kind, inputs, outputs, options))
        graph_inputs = [int(x) for x in subgraph.InputsAsNumpy()]
        graph_outputs = [int(x) for x in subgraph.OutputsAsNumpy()]
    except KwsError:
        raise
    except Exception as exc:
        raise KwsError(f"{path}: corrupt .tflite flatbuffer ({exc})") from exc
    if len(graph_inputs) != 1 or len(graph_outputs) != 1:
        raise KwsError(f"{path}: model has {len(graph_inputs)} inputs and {len(graph_outputs)} "
                       "outputs (exactly one of each is supported)")
    graph = Graph(path, tensors, ops, graph_inputs[0], graph_outputs[0])
    _validate(graph)
    return graph


# --------------------------------------------------------------------------------------------
# Validation


def _fail(graph: Graph, where: str, problem: str) -> KwsError:
    return KwsError(f"{graph.path}: {where}: {problem}")


def _tensor_label(t: Tensor) -> str:
    return f"tensor {t.index} '{t.name}'"


def _check_activation_tensor(graph: Graph, op: Op, t: Tensor, role: str) -> None:
    where = f"{op.label()} {role} {_tensor_label(t)}"
    if t.dtype != "int8":
        raise _fail(graph, where, f"type is {t.dtype} (only int8 activations are supported; "
                    "export with full-integer int8 quantization)")
    if t.scales.size != 1 or t.zero_points.size != 1:
        raise _fail(graph, where, "needs one per-tensor scale and zero point "
                    f"(has {t.scales.size} scales, {t.zero_points.size} zero points)")
    if not (t.scale > 0 and np.isfinite(t.scale)):
        raise _fail(graph, where, f"scale {t.scale} is not a positive finite number")
    if not -128 <= t.zero_point <= 127:
        raise _fail(graph, where, f"zero point {t.zero_point} is outside int8")
    if t.data is not None:
        raise _fail(graph, where, "is a constant (constant activations are not supported)")
    if t.shape and t.shape[0] != 1:
        raise _fail(graph, where, f"batch dimension is {t.shape[0]} (only batch 1 is supported)")
    if any(d <= 0 for d in t.shape):
        raise _fail(graph, where, f"shape {list(t.shape)} is not fully static")


def _check_weights(graph: Graph, op: Op, t: Tensor, channels: int, channel_dim: int) -> None:
    where = f"{op.label()} weights {_tensor_label(t)}"
    if t.data is None:
        raise _fail(graph, where, "are not constant")
    if t.dtype != "int8":
        raise _fail(graph, where, f"type is {t.dtype} (int8 weights are required)")
    if t.scales.size not in (1, channels):
        raise _fail(graph, where, f"have {t.scales.size} scales (need 1 or {channels})")
    if t.scales.size == channels and channels > 1 and t.quantized_dimension != channel_dim:
        raise _fail(graph, where, f"are quantized along dimension {t.quantized_dimension} "
                    f"(expected {channel_dim})")
    if t.zero_points.size and np.any(t.zero_points != 0):
        raise _fail(graph, where, "are not symmetric (non-zero weight zero point)")
    if not np.all(np.isfinite(t.scales)) or np.any(t.scales <= 0):
        raise _fail(graph, where, "have a non-positive or non-finite scale")


def _check_bias(graph: Graph, op: Op, index: int, channels: int) -> None:
    if index < 0:
        return
    t = graph.tensor(index)
    where = f"{op.label()} bias {_tensor_label(t)}"
    if t.data is None:
        raise _fail(graph, where, "is not constant")
    if t.dtype != "int32":
        raise _fail(graph, where, f"type is {t.dtype} (int32 bias is required)")
    if t.size != channels:
        raise _fail(graph, where, f"has {t.size} values (expected {channels})")


def _check_activation_kind(graph: Graph, op: Op) -> None:
    act = op.options.get("activation", 0)
    if act not in _ACTIVATIONS:
        name = _ACTIVATION_NAMES.get(act, str(act))
        raise _fail(graph, op.label(), f"fused activation {name} is not supported "
                    "(NONE, RELU, RELU6)")


def _expected_spatial(in_size: int, k: int, stride: int, padding: str) -> int:
    if padding == "SAME":
        return (in_size + stride - 1) // stride
    return (in_size - k + stride) // stride


def _check_window(graph: Graph, op: Op, inp: Tensor, out: Tensor, kh: int, kw: int) -> None:
    o = op.options
    if o.get("missing"):
        raise _fail(graph, op.label(), "has no options table")
    if o["stride_h"] < 1 or o["stride_w"] < 1:
        raise _fail(graph, op.label(), f"stride {o['stride_h']}x{o['stride_w']} is invalid")
    if o.get("dilation_h", 1) != 1 or o.get("dilation_w", 1) != 1:
        raise _fail(graph, op.label(), f"dilation {o['dilation_h']}x{o['dilation_w']} is not "
                    "supported (only dilation 1)")
    if len(inp.shape) != 4 or len(out.shape) != 4:
        raise _fail(graph, op.label(), f"input/output must be 4-D NHWC (got {list(inp.shape)} "
                    f"-> {list(out.shape)})")
    oh = _expected_spatial(inp.shape[1], kh, o["stride_h"], o["padding"])
    ow = _expected_spatial(inp.shape[2], kw, o["stride_w"], o["padding"])
    if (oh, ow) != out.shape[1:3]:
        raise _fail(graph, op.label(), f"output {list(out.shape)} does not match "
                    f"{o['padding']} padding with strides (expected {oh}x{ow})")


def _validate(graph: Graph) -> None:
    produced: set[int] = {graph.input}
    for op in graph.ops:
        if op.kind not in SUPPORTED_OPS:
            hint = ""
            if op.kind in ("QUANTIZE", "DEQUANTIZE"):
                hint = " (model has float input/output: export with int8 input and output)"
            raise _fail(graph, op.label(), f"op {op.kind} is not supported{hint}; supported: "
                        + ", ".join(SUPPORTED_OPS))
        if len(op.outputs) != 1:
            raise _fail(graph, op.label(), f"has {len(op.outputs)} outputs (expected 1)")
        inp = graph.tensor(op.inputs[0])
        out = graph.tensor(op.outputs[0])
        if inp.index not in produced:
            raise _fail(graph, op.label(), f"input {_tensor_label(inp)} is not produced by an "
                        "earlier op (ops must be in execution order)")
        _check_activation_tensor(graph, op, inp, "input")
        _check_activation_tensor(graph, op, out, "output")
        produced.add(out.index)
        _validate_op(graph, op, inp, out)
    if graph.output not in produced:
        raise _fail(graph, "graph output", "is not produced by any op")
    for role, index in (("input", graph.input), ("output", graph.output)):
        t = graph.tensor(index)
        if t.dtype != "int8":
            raise _fail(graph, f"model {role} {_tensor_label(t)}", f"type is {t.dtype} "
                        "(export with int8 input and output)")


def _validate_op(graph: Graph, op: Op, inp: Tensor, out: Tensor) -> None:
    kind = op.kind
    if kind == "CONV_2D":
        if len(op.inputs) < 2:
            raise _fail(graph, op.label(), "needs input and filter")
        w = graph.tensor(op.inputs[1])
        if len(w.shape) != 4:
            raise _fail(graph, op.label(), f"filter shape {list(w.shape)} is not OHWI")
        _check_activation_kind(graph, op)
        _check_window(graph, op, inp, out, w.shape[1], w.shape[2])
        if w.shape[3] != inp.shape[3]:
            raise _fail(graph, op.label(), f"filter depth {w.shape[3]} != input depth "
                        f"{inp.shape[3]} (grouped convolution is not supported)")
        if w.shape[0] != out.shape[3]:
            raise _fail(graph, op.label(), "filter count does not match output depth")
        _check_weights(graph, op, w, w.shape[0], 0)
        _check_bias(graph, op, op.inputs[2] if len(op.inputs) > 2 else -1, w.shape[0])
    elif kind == "DEPTHWISE_CONV_2D":
        if len(op.inputs) < 2:
            raise _fail(graph, op.label(), "needs input and filter")
        w = graph.tensor(op.inputs[1])
        if len(w.shape) != 4 or w.shape[0] != 1:
            raise _fail(graph, op.label(), f"filter shape {list(w.shape)} is not [1,H,W,C]")
        _check_activation_kind(graph, op)
        _check_window(graph, op, inp, out, w.shape[1], w.shape[2])
        in_c, out_c = inp.shape[3], out.shape[3]
        if w.shape[3] != out_c or out_c % in_c:
            raise _fail(graph, op.label(), f"filter depth {w.shape[3]} / output depth {out_c} "
                        f"is not a multiple of input depth {in_c}")
        mult = op.options.get("depth_multiplier", 0)
        if mult not in (0, out_c // in_c):
            raise _fail(graph, op.label(), f"depth_multiplier {mult} != output/input depth")
        _check_weights(graph, op, w, out_c, 3)
        _check_bias(graph, op, op.inputs[2] if len(op.inputs) > 2 else -1, out_c)
    elif kind == "AVERAGE_POOL_2D":
        _check_activation_kind(graph, op)
        _check_window(graph, op, inp, out, op.options["filter_h"], op.options["filter_w"])
        if op.options["filter_h"] < 1 or op.options["filter_w"] < 1:
            raise _fail(graph, op.label(), "filter size is invalid")
        if out.shape[3] != inp.shape[3]:
            raise _fail(graph, op.label(), "output depth differs from input depth")
        _check_same_quantization(graph, op, inp, out)
    elif kind == "MEAN":
        axis = graph.tensor(op.inputs[1]) if len(op.inputs) > 1 else None
        if axis is None or axis.data is None:
            raise _fail(graph, op.label(), "axis must be a constant tensor")
        axes = sorted({int(a) % 4 for a in axis.data.reshape(-1)}) if len(inp.shape) == 4 else []
        if len(inp.shape) != 4 or axes != [1, 2]:
            raise _fail(graph, op.label(), f"only the mean over height and width of a 4-D "
                        f"tensor is supported (input {list(inp.shape)}, axis "
                        f"{axis.data.reshape(-1).tolist()})")
        if out.size != inp.shape[3]:
            raise _fail(graph, op.label(), f"output {list(out.shape)} does not hold "
                        f"{inp.shape[3]} channels")
    elif kind == "FULLY_CONNECTED":
        if len(op.inputs) < 2:
            raise _fail(graph, op.label(), "needs input and weights")
        o = op.options
        if o.get("missing"):
            raise _fail(graph, op.label(), "has no options table")
        _check_activation_kind(graph, op)
        if o["weights_format"] != 0:
            raise _fail(graph, op.label(), "shuffled weights format is not supported")
        if o["asymmetric_quantize_inputs"]:
            raise _fail(graph, op.label(), "hybrid (float input) quantization is not supported")
        w = graph.tensor(op.inputs[1])
        if len(w.shape) != 2:
            raise _fail(graph, op.label(), f"weights shape {list(w.shape)} is not [out, in]")
        if inp.size % w.shape[1]:
            raise _fail(graph, op.label(), f"input size {inp.size} is not a multiple of "
                        f"weights depth {w.shape[1]}")
        if out.size != inp.size // w.shape[1] * w.shape[0]:
            raise _fail(graph, op.label(), f"output {list(out.shape)} does not match weights "
                        f"{list(w.shape)}")
        _check_weights(graph, op, w, w.shape[0], 0)
        _check_bias(graph, op, op.inputs[2] if len(op.inputs) > 2 else -1, w.shape[0])
    elif kind == "SOFTMAX":
        if out.zero_point != -128 or np.float32(out.scale) != np.float32(1.0 / 256.0):
            raise _fail(graph, f"{op.label()} output {_tensor_label(out)}", "needs scale 1/256 "
                        f"and zero point -128 (has {out.scale}, {out.zero_point})")
        if out.shape != inp.shape:
            raise _fail(graph, op.label(), "output shape differs from input shape")
        if not np.isfinite(op.options.get("beta", 1.0)) or op.options.get("beta", 1.0) <= 0:
            raise _fail(graph, op.label(), "beta must be positive")
    elif kind == "RESHAPE":
        if out.size != inp.size:
            raise _fail(graph, op.label(), f"changes the element count ({inp.size} -> "
                        f"{out.size})")
        _check_same_quantization(graph, op, inp, out)


def _check_same_quantization(graph: Graph, op: Op, inp: Tensor, out: Tensor) -> None:
    if np.float32(inp.scale) != np.float32(out.scale) or inp.zero_point != out.zero_point:
        raise _fail(graph, op.label(), "input and output quantization differ "
                    f"({inp.scale}/{inp.zero_point} vs {out.scale}/{out.zero_point})")
