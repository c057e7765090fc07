"""Facts read straight from a ``.tflite`` flatbuffer: operator list and I/O quantization.

Reads the schema with the ``tflite`` package (generated flatbuffer readers), so nothing here
needs an interpreter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kws.deploy.graph import TYPE_NAMES, builtin_code, builtin_names
from kws.deploy.ops import SUPPORTED_OPS
from kws.errors import KwsError

# The ops the compiler and the firmware kernels implement (the registry, kws/deploy/ops/):
# a DS-CNN's and anything else kws exports must stay within them.
DS_CNN_OPS = frozenset(SUPPORTED_OPS)


@dataclass(frozen=True)
class TensorQuantization:
    """Shape, element type and (per-tensor) affine quantization of one model I/O tensor."""

    shape: tuple[int, ...]
    dtype: str
    scale: float
    zero_point: int


def _load_model(data: bytes | Path | str):
    import tflite

    name = "model"
    if not isinstance(data, bytes | bytearray):
        name = str(data)
        try:
            data = Path(data).read_bytes()
        except OSError as exc:
            raise KwsError(f"{name}: cannot read model ({exc.strerror})") from exc
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise KwsError(f"{name}: not a .tflite model (no TFL3 flatbuffer identifier)")
    return tflite.Model.GetRootAsModel(data, 0)


def tflite_ops(data: bytes | Path | str) -> list[str]:
    """Builtin operator names of the main subgraph, in execution order."""
    model = _load_model(data)
    names = builtin_names()
    graph = model.Subgraphs(0)
    ops = []
    for i in range(graph.OperatorsLength()):
        builtin = builtin_code(model, graph.Operators(i))
        ops.append(names.get(builtin, f"BUILTIN_{builtin}"))
    return ops


def _tensor_quantization(model, tensor_index: int) -> TensorQuantization:
    tensor = model.Subgraphs(0).Tensors(tensor_index)
    q = tensor.Quantization()
    scale = float(q.Scale(0)) if q is not None and q.ScaleLength() else 0.0
    zero_point = int(q.ZeroPoint(0)) if q is not None and q.ZeroPointLength() else 0
    return TensorQuantization(
        shape=tuple(int(d) for d in tensor.ShapeAsNumpy()),
        dtype=TYPE_NAMES.get(tensor.Type(), f"type{tensor.Type()}"),
        scale=scale,
        zero_point=zero_point,
    )


def io_quantization(data: bytes | Path | str) -> tuple[TensorQuantization, TensorQuantization]:
    """Quantization of the (single) input and output tensor."""
    model = _load_model(data)
    graph = model.Subgraphs(0)
    if graph.InputsLength() != 1 or graph.OutputsLength() != 1:
        raise KwsError("model must have exactly one input and one output tensor")
    return (
        _tensor_quantization(model, int(graph.Inputs(0))),
        _tensor_quantization(model, int(graph.Outputs(0))),
    )
