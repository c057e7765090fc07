"""Full-int8 export of a trained run, and ``model.json``: the contract later tools read.

:func:`export_run` quantizes ``RUN_DIR/model.keras`` post-training (int8 weights and
activations, int8 input and output, calibrated on training features) with a fixed batch of
1, so the graph holds only CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, RESHAPE,
FULLY_CONNECTED and SOFTMAX.  It writes ``RUN_DIR/model_int8.tflite`` and
``RUN_DIR/model.json`` (both atomically).

``model.json`` keys
-------------------
``format``
    ``"kws-model/1"``.
``kws_version``
    Version of kws that exported the model.
``model_file``
    File name of the int8 model beside ``model.json`` (``"model_int8.tflite"``).
``architecture``
    Model name from training, e.g. ``"ds-cnn-s"``.
``labels``
    Class names in output order.
``frontend``
    The exact front-end config dict (``config.to_dict()``; rebuild it with
    :func:`kws.features.frontend_from_dict`).  Model input = ``to_model_input(features)``.
``clip_ms``
    Audio length one inference sees.
``input_shape``
    int8 input tensor shape, ``[1, frames, channels, 1]``.
``input_scale``, ``input_zero_point``
    ``q = clip(round(f / input_scale) + input_zero_point, -128, 127)`` for float input ``f``
    (the input contract, :mod:`kws.features.quantize`).
``output_shape``
    ``[1, num_classes]``.
``output_scale``, ``output_zero_point``
    Probability ``p = (q - output_zero_point) * output_scale`` (softmax: 1/256 and -128).
``detector``
    Detection settings (``average_count``, ``threshold``, ``suppress_inferences``; see
    :mod:`kws.detector`): what ``kws deploy`` builds the firmware with and ``kws simulate`` /
    ``kws listen`` run with, unless flags override them.
``float_accuracy``, ``int8_accuracy``
    Test-split accuracy of the float model and of the int8 model run by the tflite-micro
    interpreter (``None`` when no test data was available).
``test_examples``
    Number of test examples behind the two accuracies.
``params``, ``macs``
    Parameter count of the float model and multiply-accumulates per inference.
``file_size``
    Bytes of the ``.tflite`` file.
``ops``
    Operator names of the int8 graph in execution order.
``representative_examples``
    Number of training feature arrays used for calibration.
``convert_seconds``
    Wall time of the conversion (informational).
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from kws.errors import KwsError
from kws.features.quantize import quantize_inputs
from kws.modelinfo import DS_CNN_OPS, TensorQuantization, io_quantization, tflite_ops
from kws.quiet import native_stderr_filtered

MODEL_FORMAT = "kws-model/1"
MODEL_FILE = "model_int8.tflite"
# The converter's C++ quantizer prints this status line on every call, whatever the log level.
CONVERTER_NOISE = (b"fully_quantize: ",)

__all__ = ["convert_int8", "export_run", "quantize_inputs", "run_int8"]


def convert_int8(model: Any, representative: np.ndarray, *, per_tensor_dense: bool = False
                 ) -> bytes:
    """Full-int8 TFLite flatbuffer of a Keras ``model`` with a fixed batch of 1.

    Parameters
    ----------
    model
        Keras model with float input ``[batch, frames, channels, 1]``.
    representative
        float32 ``[n, frames, channels]`` (or with a trailing 1) calibration features.
    per_tensor_dense
        Quantize FULLY_CONNECTED weights with one scale per tensor (the older TFLite
        scheme) instead of one per output channel.
    """
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    shape = [1, *(int(d) for d in model.input_shape[1:])]
    if len(representative) == 0:
        raise KwsError("the representative set for int8 calibration is empty")
    rep = np.asarray(representative, dtype=np.float32).reshape(-1, *shape[1:])

    @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32, name="features")])
    def serve(x: tf.Tensor) -> tf.Tensor:
        return model(x, training=False)

    # Freeze variables into constants: converting the live function leaves READ_VARIABLE ops.
    frozen = convert_variables_to_constants_v2(serve.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    if per_tensor_dense:
        converter._experimental_disable_per_channel_quantization_for_dense_layers = True

    def representative_dataset():
        for x in rep:
            yield [x[None]]

    converter.representative_dataset = representative_dataset
    with warnings.catch_warnings(), native_stderr_filtered(CONVERTER_NOISE):
        # "Statistics for quantized inputs were expected": they come from calibration.
        warnings.filterwarnings("ignore", category=UserWarning)
        return bytes(converter.convert())


def run_int8(runner: Any, q: np.ndarray, progress: Any = None, task: Any = None) -> np.ndarray:
    """int8 outputs ``[n, num_classes]`` for int8 inputs ``[n, ...]`` through ``runner``
    (a :func:`kws.engines.open_session` callable)."""
    outputs = []
    for x in q:
        outputs.append(runner(x).reshape(-1))
        if progress is not None:
            progress.advance(task)
    return np.stack(outputs) if outputs else np.zeros((0, 0), np.int8)


def export_run(run_dir: str | os.PathLike[str], data: str | os.PathLike[str] | None = None,
               *, progress: bool = True) -> dict[str, Any]:
    """Quantize a training run to int8 and write ``model_int8.tflite`` and ``model.json``.

    Parameters
    ----------
    run_dir
        Directory written by :func:`kws.train.train` (``model.keras``, ``train.json``,
        ``representative.npy``, optionally ``test.npz``).
    data
        Optional dataset root: the test split is rebuilt from it with the run's split options
        (default: the run's saved test features).
    progress
        Show progress with rich.

    Returns
    -------
    dict
        The ``model.json`` content.
    """
    from rich.console import Console

    from kws.detector import detector_section
    from kws.fileio import write_atomic, write_json_atomic
    from kws.model import count_macs, count_params
    from kws.train import kws_version, predict_classes

    run = Path(run_dir)
    console = Console(stderr=True, quiet=not progress)
    info, representative, model = _load_run(run)
    labels, frontend = info["labels"], info["frontend"]

    x_test, y_test = _test_features(run, info, data, progress)

    start = time.perf_counter()
    console.print(f"quantizing {run / 'model.keras'} to int8 "
                  f"({len(representative)} calibration examples)")
    tflite_bytes = convert_int8(model, representative)
    ops, in_q, out_q = _check_int8_graph(run, tflite_bytes)
    model_path = run / MODEL_FILE
    write_atomic(model_path, lambda f: f.write(tflite_bytes))
    convert_seconds = time.perf_counter() - start

    float_acc = int8_acc = None
    if x_test is not None and len(x_test):
        float_acc = float(np.mean(predict_classes(model, x_test) == y_test))
        q = quantize_inputs(x_test, in_q.scale, in_q.zero_point)
        int8_acc = _int8_accuracy(model_path, q, y_test, console)

    meta: dict[str, Any] = {
        "format": MODEL_FORMAT,
        "kws_version": kws_version(),
        "model_file": MODEL_FILE,
        "architecture": info.get("config", {}).get("model", "ds-cnn"),
        "labels": labels,
        "frontend": frontend,
        "clip_ms": int(info.get("config", {}).get("clip_ms", 1000)),
        "input_shape": list(in_q.shape),
        "input_scale": in_q.scale,
        "input_zero_point": in_q.zero_point,
        "output_shape": list(out_q.shape),
        "output_scale": out_q.scale,
        "output_zero_point": out_q.zero_point,
        "detector": detector_section(),
        "float_accuracy": float_acc,
        "int8_accuracy": int8_acc,
        "test_examples": 0 if x_test is None else int(len(x_test)),
        "params": count_params(model),
        "macs": count_macs(model),
        "file_size": len(tflite_bytes),
        "ops": ops,
        "representative_examples": int(len(representative)),
        "convert_seconds": round(convert_seconds, 2),
    }
    write_json_atomic(run / "model.json", meta)
    accs = (f"; test accuracy float {float_acc:.4f}, int8 {int8_acc:.4f}"
            if float_acc is not None and int8_acc is not None else "; no test data")
    console.print(f"wrote {model_path} ({len(tflite_bytes):,} bytes, ops "
                  f"{' '.join(dict.fromkeys(ops))}){accs}")
    return meta


def _check_int8_graph(run: Path, tflite_bytes: bytes
                      ) -> tuple[list[str], TensorQuantization, TensorQuantization]:
    """Ops and I/O quantization of a converted model; it must hold only the kernels the
    firmware has and take and give int8."""
    ops = tflite_ops(tflite_bytes)
    unexpected = sorted(set(ops) - DS_CNN_OPS)
    if unexpected:
        raise KwsError(f"{run}: int8 graph contains unsupported ops {unexpected}")
    in_q, out_q = io_quantization(tflite_bytes)
    if in_q.dtype != "int8" or out_q.dtype != "int8":
        raise KwsError(f"{run}: converter produced {in_q.dtype}/{out_q.dtype} I/O, not int8")
    return ops, in_q, out_q


def _load_run(run: Path) -> tuple[dict[str, Any], np.ndarray, Any]:
    """``train.json`` (with ``labels`` and ``frontend``), the calibration features and the
    Keras model of a training run; one clear error for anything missing or damaged."""
    if not run.is_dir():
        raise KwsError(f"{run}: run directory does not exist")
    for name in ("model.keras", "train.json", "representative.npy"):
        if not (run / name).is_file():
            raise KwsError(f"{run}: not a training run ({name} is missing; run `kws train` "
                           "first)")
    try:
        info = json.loads((run / "train.json").read_text())
        info["labels"], info["frontend"] = list(info["labels"]), dict(info["frontend"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KwsError(f"{run / 'train.json'}: unreadable training record ({exc})") from exc
    try:
        representative = np.load(run / "representative.npy")
    except (OSError, ValueError) as exc:
        raise KwsError(f"{run / 'representative.npy'}: unreadable ({exc})") from exc

    import keras

    try:
        model = keras.models.load_model(run / "model.keras", compile=False)
    except Exception as exc:  # keras raises many types for a bad archive
        raise KwsError(f"{run / 'model.keras'}: cannot load the Keras model ({exc})") from exc
    if int(model.output_shape[-1]) != len(info["labels"]):
        raise KwsError(f"{run}: model has {model.output_shape[-1]} outputs but train.json "
                       f"lists {len(info['labels'])} labels")
    return info, representative, model


def _int8_accuracy(model_path: Path, q: np.ndarray, y: np.ndarray, console: Any) -> float:
    """Accuracy of the int8 model on int8 inputs ``q`` in the tflite-micro interpreter."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from kws.engines import open_session

    runner = open_session("tflm", model_path)
    with Progress(TextColumn("[bold]int8 test (tflite-micro)"), BarColumn(),
                  MofNCompleteColumn(), console=console, disable=console.quiet) as bar:
        task = bar.add_task("", total=len(q))
        out = run_int8(runner, q, bar, task)
    return float(np.mean(np.argmax(out, axis=-1) == y))


def _test_features(run: Path, info: dict[str, Any], data: Any, progress: bool
                   ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The test split's features: rebuilt from ``data`` if given, else ``test.npz``."""
    if data is None:
        path = run / "test.npz"
        if not path.is_file():
            return None, None
        try:
            with np.load(path) as z:
                return z["x"].astype(np.float32), z["y"].astype(np.int64)
        except (OSError, ValueError, KeyError) as exc:
            raise KwsError(f"{path}: unreadable test features ({exc})") from exc
    from kws.data import extract_features, load_dataset
    from kws.features import frontend_from_dict

    cfg = info.get("config", {})
    splits = load_dataset(
        data, cfg.get("words"), unknown_percentage=cfg.get("unknown_percentage", 10.0),
        silence_percentage=cfg.get("silence_percentage", 10.0),
        validation_percentage=cfg.get("validation_percentage", 10.0),
        testing_percentage=cfg.get("testing_percentage", 10.0),
        split=cfg.get("split", "auto"), seed=cfg.get("seed", 0),
        split_seed=cfg.get("split_seed"), noise_holdout=cfg.get("noise_holdout", False),
    )
    if list(splits.labels) != list(info["labels"]):
        raise KwsError(f"{data}: dataset labels {splits.labels} differ from the run's "
                       f"labels {info['labels']}")
    if not splits.test:
        return None, None
    x, y = extract_features(splits.test, info["labels"], frontend_from_dict(info["frontend"]),
                            clip_ms=int(cfg.get("clip_ms", 1000)),
                            cache_dir=cfg.get("cache_dir"), progress=progress)
    return x.astype(np.float32), y.astype(np.int64)
