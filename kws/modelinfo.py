"""Open a ``.tflite`` model safely, and the facts read straight from its flatbuffer.

:func:`open_model` is the one gate every engine, ``kws evaluate``, ``kws compare`` and the
compiler pass a model file through before anything else reads it: tflite-micro's C++ loader
runs no flatbuffer verifier and can abort the process on a damaged file, so the file is
checked here (exists, non-empty, ``TFL3``, every offset inside the file, tensor, buffer and
op indices in range, constant data of the right size, int8 input and output, and, where an
engine needs it or kws knows every op, the compiler's own op checks) and any problem becomes
one :class:`~kws.errors.KwsError` naming the file.

Reads the schema with the ``tflite`` package (generated flatbuffer readers), so nothing here
needs an interpreter.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kws.deploy.graph import TYPE_NAMES, builtin_code, builtin_names
from kws.deploy.ops import SUPPORTED_OPS
from kws.errors import KwsError

# The ops the compiler and the firmware kernels implement (the registry, kws/deploy/ops/):
# a DS-CNN's and anything else kws exports must stay within them.
DS_CNN_OPS = frozenset(SUPPORTED_OPS)

# Bytes per element of the tensor types a constant buffer may hold (int4 packs two).
_ELEMENT_BYTES = {0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 6: 1, 7: 2, 9: 1, 10: 8}


@dataclass(frozen=True)
class TensorQuantization:
    """Shape, element type and (per-tensor) affine quantization of one model I/O tensor."""

    shape: tuple[int, ...]
    dtype: str
    scale: float
    zero_point: int


@dataclass(frozen=True)
class ModelFacts:
    """A checked model: its file, ops in execution order, input and output tensors."""

    path: Path
    ops: tuple[str, ...]
    input: TensorQuantization
    output: TensorQuantization


def read_model_file(path: Path) -> bytes:
    """The bytes of the model file ``path`` (``KwsError`` if missing, a directory, empty)."""
    if path.is_dir():
        raise KwsError(f"{path}: is a directory, not a .tflite model file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KwsError(f"{path}: cannot read model (model file not found)") from None
    except OSError as exc:
        raise KwsError(f"{path}: cannot read model ({exc.strerror or exc})") from None
    if not data:
        raise KwsError(f"{path}: empty file (0 bytes), not a .tflite model")
    return data


def _index_check(name: str, indices: Any, limit: int, what: str, optional: bool = False
                 ) -> None:
    low = -1 if optional else 0
    for i in indices:
        if not low <= int(i) < limit:
            raise KwsError(f"{name}: {what} refers to tensor {int(i)}, the subgraph has "
                           f"{limit}")


def _check_tensor(name: str, model: Any, graph: Any, index: int, data_len: int) -> None:
    tensor = graph.Tensors(index)
    where = f"{name}: tensor {index}"
    shape = [int(d) for d in tensor.ShapeAsNumpy()] if tensor.ShapeLength() else []
    if any(d < 0 for d in shape):
        raise KwsError(f"{where}: shape {shape} has a negative dimension")
    type_code = int(tensor.Type())
    if type_code not in TYPE_NAMES:
        raise KwsError(f"{where}: unknown tensor type code {type_code}")
    if tensor.Sparsity() is not None:
        raise KwsError(f"{where}: sparse tensors are not supported")
    if not 0 <= tensor.Buffer() < model.BuffersLength():
        raise KwsError(f"{where}: buffer {tensor.Buffer()} does not exist "
                       f"({model.BuffersLength()} buffers)")
    buffer = model.Buffers(tensor.Buffer())
    if buffer.Offset() > 1 and buffer.Offset() + buffer.Size() > data_len:
        end = buffer.Offset() + buffer.Size()
        raise KwsError(f"{where}: its data (bytes {buffer.Offset()}..{end}) lies outside the "
                       f"{data_len}-byte file (truncated)")
    size = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if buffer.DataLength() and type_code in _ELEMENT_BYTES:
        if buffer.DataLength() != size * _ELEMENT_BYTES[type_code]:
            raise KwsError(f"{where}: constant data of {buffer.DataLength()} bytes, its shape "
                           f"{shape} of {TYPE_NAMES[type_code]} needs "
                           f"{size * _ELEMENT_BYTES[type_code]}")
    q = tensor.Quantization()
    if q is None or not q.ScaleLength():
        return
    channels = q.ScaleLength()
    if q.ZeroPointLength() and q.ZeroPointLength() != channels:
        raise KwsError(f"{where}: {channels} scales but {q.ZeroPointLength()} zero points")
    dim = int(q.QuantizedDimension())
    if channels > 1 and not (0 <= dim < len(shape) and shape[dim] == channels):
        raise KwsError(f"{where}: {channels} per-channel scales do not match dimension {dim} "
                       f"of shape {shape}")
    if not np.all(np.isfinite(q.ScaleAsNumpy())):
        raise KwsError(f"{where}: quantization scale is not finite")


def _check_subgraph(name: str, model: Any, index: int, data_len: int) -> None:
    graph = model.Subgraphs(index)
    count = graph.TensorsLength()
    for t in range(count):
        _check_tensor(name, model, graph, t, data_len)
    _index_check(name, graph.InputsAsNumpy() if graph.InputsLength() else [], count,
                 "a subgraph input")
    _index_check(name, graph.OutputsAsNumpy() if graph.OutputsLength() else [], count,
                 "a subgraph output")
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        if not op.OpcodeIndex() < model.OperatorCodesLength():
            raise KwsError(f"{name}: op {i} has operator code {op.OpcodeIndex()}, the model "
                           f"lists {model.OperatorCodesLength()}")
        _index_check(name, op.InputsAsNumpy() if op.InputsLength() else [], count,
                     f"op {i}'s input", optional=True)
        _index_check(name, op.OutputsAsNumpy() if op.OutputsLength() else [], count,
                     f"op {i}'s output")


def check_tflite_bytes(name: str | Path, data: bytes) -> Any:
    """The ``tflite.Model`` of ``data`` once its structure and indices are checked.

    Raises
    ------
    KwsError
        ``"<name>: <problem>"``: no ``TFL3`` identifier, truncated or corrupt flatbuffer,
        an index (tensor, buffer, operator code) out of range, constant data whose size does
        not match its shape, quantization that does not match its tensor.
    """
    import tflite

    from kws.deploy.flatbuffer import FlatbufferError, check_flatbuffer

    if len(data) < 8 or data[4:8] != b"TFL3":
        raise KwsError(f"{name}: not a .tflite model (no TFL3 flatbuffer identifier)")
    try:
        check_flatbuffer(data)
    except FlatbufferError as exc:
        raise KwsError(f"{name}: truncated or corrupt .tflite flatbuffer ({exc})") from None
    model = tflite.Model.GetRootAsModel(data, 0)
    try:
        if model.SubgraphsLength() < 1:
            raise KwsError(f"{name}: the model has no subgraph")
        for i in range(model.SubgraphsLength()):
            _check_subgraph(str(name), model, i, len(data))
    except KwsError:
        raise
    except Exception as exc:  # a reader meeting data the structural check lets through
        raise KwsError(f"{name}: corrupt .tflite flatbuffer ({type(exc).__name__}: {exc})"
                       ) from None
    return model


def _load_model(data: bytes | Path | str) -> Any:
    if isinstance(data, bytes | bytearray):
        return check_tflite_bytes("model", bytes(data))
    path = Path(data)
    return check_tflite_bytes(path, read_model_file(path))


def _ops(model: Any) -> list[str]:
    names = builtin_names()
    graph = model.Subgraphs(0)
    ops = []
    for i in range(graph.OperatorsLength()):
        builtin = builtin_code(model, graph.Operators(i))
        ops.append(names.get(builtin, f"BUILTIN_{builtin}"))
    return ops


def tflite_ops(data: bytes | Path | str) -> list[str]:
    """Builtin operator names of the main subgraph, in execution order."""
    return _ops(_load_model(data))


def _tensor_quantization(model: Any, tensor_index: int) -> TensorQuantization:
    tensor = model.Subgraphs(0).Tensors(tensor_index)
    q = tensor.Quantization()
    scale = float(q.Scale(0)) if q is not None and q.ScaleLength() else 0.0
    zero_point = int(q.ZeroPoint(0)) if q is not None and q.ZeroPointLength() else 0
    return TensorQuantization(
        shape=tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else (),
        dtype=TYPE_NAMES.get(tensor.Type(), f"type{tensor.Type()}"),
        scale=scale,
        zero_point=zero_point,
    )


def _io(model: Any, name: str | Path) -> tuple[TensorQuantization, TensorQuantization]:
    graph = model.Subgraphs(0)
    if graph.InputsLength() != 1 or graph.OutputsLength() != 1:
        raise KwsError(f"{name}: model must have exactly one input and one output tensor "
                       f"(has {graph.InputsLength()} and {graph.OutputsLength()})")
    return (
        _tensor_quantization(model, int(graph.Inputs(0))),
        _tensor_quantization(model, int(graph.Outputs(0))),
    )


def io_quantization(data: bytes | Path | str) -> tuple[TensorQuantization, TensorQuantization]:
    """Quantization of the (single) input and output tensor."""
    name = "model" if isinstance(data, bytes | bytearray) else data
    return _io(_load_model(data), name)


@functools.lru_cache(maxsize=32)
def _open_cached(path: Path, _stamp: tuple[int, int], require_supported: bool) -> ModelFacts:
    model = check_tflite_bytes(path, read_model_file(path))
    inp, out = _io(model, path)
    for role, t in (("input", inp), ("output", out)):
        if t.dtype != "int8":
            raise KwsError(f"{path}: model {role} is {t.dtype}; kws engines run int8 models "
                           "(export with int8 input and output)")
        if not t.shape or any(d <= 0 for d in t.shape):
            raise KwsError(f"{path}: model {role} shape {list(t.shape)} is not fully static")
    ops = tuple(_ops(model))
    unsupported = sorted(set(ops) - DS_CNN_OPS)
    if require_supported and unsupported:
        raise KwsError(f"{path}: op {unsupported[0]} is not supported; supported: "
                       + ", ".join(SUPPORTED_OPS))
    if not unsupported:
        # Every op is one kws knows: its checks are tflite-micro's (and refuse what would
        # make the interpreter abort, e.g. a softmax input multiplier not above one).
        from kws.deploy.compiler import lower_model

        lower_model(path)
    return ModelFacts(path, ops, inp, out)


def open_model(path: str | Path, *, require_supported: bool = False) -> ModelFacts:
    """Check the int8 ``.tflite`` at ``path`` before any interpreter or compiler reads it.

    Parameters
    ----------
    path
        The model file.
    require_supported
        Refuse ops outside the compiler's registry (engines running compiled C need it);
        otherwise such ops are left to the interpreter.

    Returns
    -------
    ModelFacts
        Ops, input and output tensors (results are cached per file content stamp).

    Raises
    ------
    KwsError
        One line naming the file and the problem: missing, a directory, empty, not a
        flatbuffer, truncated or corrupt, not int8, unsupported op or quantization.
    """
    p = Path(path)
    try:
        stat = p.stat()
        stamp = (int(stat.st_size), int(stat.st_mtime_ns))
    except OSError:
        stamp = (-1, -1)  # read_model_file says what is wrong
    return _open_cached(p, stamp, require_supported)


def check_model_json(facts: ModelFacts, meta: dict[str, Any], meta_path: Path) -> None:
    """Refuse a ``model.json`` that does not describe the model beside it: its labels must
    number the model's outputs, its input shape, scale and zero point must be the model's and
    its frontend's frames must fill the model input exactly."""
    inp, out = facts.input, facts.output
    where = f"{meta_path}: does not match {facts.path.name}"
    labels = meta.get("labels")
    if isinstance(labels, list) and len(labels) != out.shape[-1]:
        raise KwsError(f"{where}: {len(labels)} labels, the model has {out.shape[-1]} outputs")
    shape = meta.get("input_shape")
    if shape is not None and int(np.prod(shape)) != int(np.prod(inp.shape)):
        raise KwsError(f"{where}: input shape {list(shape)}, the model takes "
                       f"{list(inp.shape)}")
    for key, value in (("input_scale", inp.scale), ("input_zero_point", inp.zero_point)):
        if key in meta and not np.isclose(float(meta[key]), value, rtol=1e-6, atol=0):
            raise KwsError(f"{where}: {key} {meta[key]}, the model's is {value}")
    if "frontend" in meta:
        from kws.features import frontend_from_dict
        from kws.features.quantize import num_features

        try:
            width = num_features(frontend_from_dict(meta["frontend"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise KwsError(f"{meta_path}: bad frontend ({exc})") from None
        size = int(np.prod(inp.shape))
        if size % width:
            raise KwsError(f"{where}: its frontend makes {width}-value frames, the model "
                           f"input of {size} values is not a whole number of them")
