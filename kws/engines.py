"""Run an int8 ``.tflite`` model on any engine, with one calling convention.

Engines map a name to a callable ``(model_path, inputs) -> outputs``, where ``inputs`` is a
list of int8 arrays (one model input each) and the result holds one int8 output array per
input.  Built in:

- ``tflm``: the tflite-micro Python interpreter, TFLM's reference kernels: the golden
  reference for firmware semantics;
- ``litert``: the desktop LiteRT interpreter with its reference kernels (``BUILTIN_REF``);
  its FULLY_CONNECTED rounds once, so it can differ from TFLM by 1 in a few outputs;
- ``native``: the model compiled ahead of time by :mod:`kws.deploy` and built for the host.

Every model file passes :func:`check_model` (:func:`kws.modelinfo.open_model`) before an
engine sees it, so a damaged file is one clear error, never an interpreter crash.

Other engines (``qemu``: the firmware under emulation) plug in with :func:`register_engine`
or by naming a ``module:function`` in :data:`LAZY_ENGINES`, loaded on first use.  An engine
name may carry an argument after a colon, given to the engine's factory in
:data:`ENGINE_FACTORIES`: ``qemu:BOARD`` is the firmware built for an emulated board of
:mod:`kws.boards` (``qemu:qemu-mps2-an385``, the Cortex-M3); plain ``qemu`` is the default
board's (the Cortex-M4).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kws.errors import KwsError

if TYPE_CHECKING:
    from kws.modelinfo import ModelFacts

EngineFn = Callable[[Path, list[np.ndarray]], list[np.ndarray]]

ENGINES: dict[str, EngineFn] = {}
# name -> "module:function", imported when first asked for (keeps heavy imports lazy and
# lets engines live in the packages that own them).
LAZY_ENGINES: dict[str, str] = {"qemu": "kws.firmware_project.engine:run_qemu_engine"}
ENGINE_NAMES = ("tflm", "litert", "native", "qemu")
# name -> "module:function" of ``function(argument) -> EngineFn`` for names ``name:argument``.
ENGINE_FACTORIES: dict[str, str] = {"qemu": "kws.firmware_project.engine:qemu_engine"}


def _load(name: str, target: str) -> Any:
    """The ``module:function`` that ``target`` names (KwsError when it cannot be imported)."""
    module_name, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise KwsError(f"engine {name!r} is not available in this installation "
                       f"({target}: {exc})") from exc


def register_engine(name: str, fn: EngineFn) -> None:
    """Make ``fn`` available as engine ``name`` (replacing any previous one)."""
    ENGINES[name] = fn


def get_engine(name: str) -> EngineFn:
    """The callable for engine ``name``; ``KwsError`` if it is unknown or unavailable."""
    if name in ENGINES:
        return ENGINES[name]
    if name in LAZY_ENGINES:
        fn = _load(name, LAZY_ENGINES[name])
        ENGINES[name] = fn
        return fn
    base, sep, argument = name.partition(":")
    if sep and base in ENGINE_FACTORIES:
        fn = _load(name, ENGINE_FACTORIES[base])(argument)
        ENGINES[name] = fn
        return fn
    known = sorted(set(ENGINES) | set(LAZY_ENGINES))
    raise KwsError(f"unknown engine {name!r} (known: {', '.join(known)})")


# Engines that run the model compiled by kws.deploy: every op must be in its registry.
COMPILED_ENGINES = ("native", "qemu")


def check_model(engine: str, model_path: Path) -> ModelFacts:
    """:func:`kws.modelinfo.open_model` for ``engine``: the one check of a model file before
    an interpreter or the compiler reads it (``KwsError`` naming the file and the problem)."""
    from kws.modelinfo import open_model

    return open_model(model_path, require_supported=engine.partition(":")[0] in COMPILED_ENGINES)


def _prepare_inputs(facts: ModelFacts, inputs: list[np.ndarray]) -> list[np.ndarray]:
    model_path, in_shape = facts.path, facts.input.shape
    size = int(np.prod(in_shape))
    prepared = []
    for i, x in enumerate(inputs):
        arr = np.asarray(x)
        if arr.dtype != np.int8:
            raise KwsError(f"input {i}: dtype is {arr.dtype}, the model takes int8")
        if arr.size != size:
            raise KwsError(f"input {i}: {arr.size} values (shape {list(arr.shape)}), "
                           f"{model_path.name} takes {size} (shape {list(in_shape)})")
        prepared.append(np.ascontiguousarray(arr.reshape(in_shape)))
    return prepared


Session = Callable[[np.ndarray], np.ndarray]


def tflm_session(model_path: Path) -> Session:
    """One-input-at-a-time runner on the tflite-micro interpreter (reference kernels)."""
    from tflite_micro.python.tflite_micro import runtime

    check_model("tflm", model_path)
    try:
        interpreter = runtime.Interpreter.from_file(str(model_path))
    except (RuntimeError, ValueError) as exc:
        raise KwsError(f"{model_path}: tflite-micro cannot load the model ({exc})") from exc
    shape = tuple(int(d) for d in interpreter.get_input_details(0)["shape"])

    def invoke(x: np.ndarray) -> np.ndarray:
        interpreter.set_input(np.asarray(x, dtype=np.int8).reshape(shape), 0)
        interpreter.invoke()
        return np.array(interpreter.get_output(0), dtype=np.int8, copy=True)

    return invoke


def litert_session(model_path: Path) -> Session:
    """LiteRT interpreter with reference kernels (reported against TFLM, never asserted)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    check_model("litert", model_path)
    try:
        interpreter = Interpreter(
            model_path=str(model_path),
            experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
        )
        interpreter.allocate_tensors()
    except (RuntimeError, ValueError) as exc:
        raise KwsError(f"{model_path}: LiteRT cannot load the model ({exc})") from exc
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]

    def invoke(x: np.ndarray) -> np.ndarray:
        interpreter.set_tensor(inp["index"], np.asarray(x, dtype=np.int8).reshape(inp["shape"]))
        interpreter.invoke()
        return np.array(interpreter.get_tensor(out["index"]), dtype=np.int8, copy=True)

    return invoke


def native_session(model_path: Path) -> Session:
    """The kws-compiled C model built for the host (same C as the firmware)."""
    from kws.deploy.native import load_native

    return load_native(model_path).invoke


SESSIONS: dict[str, Callable[[Path], Session]] = {
    "tflm": tflm_session,
    "litert": litert_session,
    "native": native_session,
}


def open_session(engine: str, model_path: str | Path) -> Session:
    """A callable running one int8 input through ``model_path`` on an in-process engine."""
    if engine not in SESSIONS:
        raise KwsError(f"engine {engine!r} has no in-process session "
                       f"(available: {', '.join(SESSIONS)})")
    facts = check_model(engine, Path(model_path))
    return SESSIONS[engine](facts.path)


def _batch(session: Callable[[Path], Session]) -> EngineFn:
    def run(model_path: Path, inputs: list[np.ndarray]) -> list[np.ndarray]:
        invoke = session(model_path)
        return [invoke(x) for x in inputs]

    run.__doc__ = session.__doc__
    return run


run_tflm = _batch(tflm_session)
run_litert = _batch(litert_session)
run_native = _batch(native_session)


register_engine("tflm", run_tflm)
register_engine("litert", run_litert)
register_engine("native", run_native)


def run_model(engine: str, model_path: str | Path, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Run ``inputs`` through ``model_path`` on ``engine``.

    Parameters
    ----------
    engine
        ``"tflm"``, ``"litert"``, ``"native"``, ``"qemu"``, ``"qemu:BOARD"`` or any
        registered name.
    model_path
        int8 ``.tflite`` model with one input and one output.
    inputs
        int8 arrays, each with the model's input size (reshaped to its input shape).

    Returns
    -------
    list[np.ndarray]
        One int8 output (model output shape) per input.
    """
    path = Path(model_path)
    fn = get_engine(engine)
    prepared = _prepare_inputs(check_model(engine, path), list(inputs))
    outputs = fn(path, prepared)
    if len(outputs) != len(prepared):
        raise KwsError(f"engine {engine!r} returned {len(outputs)} outputs for "
                       f"{len(prepared)} inputs")
    return outputs


def compare_outputs(
    a: list[np.ndarray], b: list[np.ndarray]
) -> dict[str, int]:
    """Agreement of two engines' outputs for the same inputs.

    Returns
    -------
    dict
        ``tensors`` compared, ``mismatched_tensors``, ``mismatched_elements``,
        ``max_abs_diff`` and ``argmax_mismatches``.
    """
    if len(a) != len(b):
        raise ValueError("output lists differ in length")
    mismatched_tensors = mismatched_elements = max_abs = argmax = 0
    for x, y in zip(a, b, strict=True):
        diff = np.abs(x.astype(np.int32) - y.astype(np.int32))
        n = int(np.count_nonzero(diff))
        mismatched_elements += n
        mismatched_tensors += n > 0
        max_abs = max(max_abs, int(diff.max()) if diff.size else 0)
        argmax += int(np.argmax(x.reshape(-1)) != np.argmax(y.reshape(-1)))
    return {
        "tensors": len(a),
        "mismatched_tensors": mismatched_tensors,
        "mismatched_elements": mismatched_elements,
        "max_abs_diff": max_abs,
        "argmax_mismatches": argmax,
    }
