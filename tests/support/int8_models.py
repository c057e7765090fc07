"""Small int8 models for the compiler tests, and their bit-exact check against tflite-micro.

Models are built with Keras and converted by :func:`kws.export.convert_int8` (full int8,
batch 1); the generated C built for the host (``native``) must equal the tflite-micro
interpreter (``tflm``) on every input.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def chain_model(input_shape: tuple[int, ...], *layer_fns: Callable) -> Any:
    """A Keras model (batch 1) applying ``layer_fns`` one after the other."""
    import keras

    inputs = keras.Input(shape=input_shape, batch_size=1)
    x = inputs
    for fn in layer_fns:
        x = fn(x)
    return keras.Model(inputs, x)


def biased_layers() -> tuple[Callable, Callable, Callable]:
    """Conv2D, DepthwiseConv2D and Dense factories with a random (non-zero) bias, so the
    bias folding is exercised."""
    from keras import initializers, layers

    bias = initializers.RandomNormal(stddev=0.5, seed=3)

    def conv(*args: Any, **kw: Any) -> Any:
        return layers.Conv2D(*args, bias_initializer=bias, **kw)

    def dw(*args: Any, **kw: Any) -> Any:
        return layers.DepthwiseConv2D(*args, bias_initializer=bias, **kw)

    def dense(*args: Any, **kw: Any) -> Any:
        return layers.Dense(*args, bias_initializer=bias, **kw)

    return conv, dw, dense


def convert(model: Any, rep: np.ndarray, per_tensor_dense: bool = False) -> bytes:
    """Full-int8 flatbuffer of ``model`` calibrated on ``rep`` (kws's exporter)."""
    from kws.export import convert_int8

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return convert_int8(model, rep, per_tensor_dense=per_tensor_dense)


def randomize_batch_norm(model: Any, rng: np.random.Generator) -> None:
    """Trained-like batch-norm statistics. With the initial ones (identity) random conv
    weights shrink the activations block by block: DS-CNN-M/L's logits scale falls below
    2^-26, where TFLM's softmax input multiplier is not above one and the tflite-micro
    interpreter aborts while loading (QuantizeMultiplierGreaterThanOne)."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([
                rng.uniform(0.5, 1.5, gamma.shape).astype(np.float32),
                rng.normal(0.0, 0.3, beta.shape).astype(np.float32),
                rng.normal(0.0, 0.3, mean.shape).astype(np.float32),
                rng.uniform(0.5, 2.0, var.shape).astype(np.float32),
            ])


def random_ds_cnn(size: str, calibration: int = 24,
                  batch_norm: bool = True) -> tuple[Any, np.ndarray]:
    """DS-CNN of ``size`` on 49x10 MFCC, 12 classes, random weights (and, with
    ``batch_norm``, random batch-norm statistics), plus ``calibration`` random features."""
    import keras

    from kws.model import ds_cnn

    keras.utils.set_random_seed(11)
    model = ds_cnn((49, 10, 1), 12, size)
    rng = np.random.default_rng(5)
    if batch_norm:
        randomize_batch_norm(model, rng)
    rep = rng.normal(0.0, 3.0, (calibration, 49, 10, 1)).astype(np.float32)
    return model, rep


def stable_seed(name: str) -> int:
    """A seed for test case ``name`` that is the same in every process (``hash()`` is
    salted per process); failure messages print it."""
    return zlib.crc32(name.encode())


def random_int8_inputs(shape: tuple[int, ...], n: int, seed: int) -> list[np.ndarray]:
    """``n`` uniformly random int8 tensors of ``shape``."""
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, size=shape, dtype=np.int16).astype(np.int8)
            for _ in range(n)]


def assert_native_equals_tflm(path: Path, inputs: list[np.ndarray], seed: int | None = None
                              ) -> list[np.ndarray]:
    """Runs ``inputs`` through tflite-micro and the compiled C; asserts equal outputs and
    returns tflite-micro's. ``seed`` (of the inputs) is printed on failure."""
    from kws.engines import run_model

    expected = run_model("tflm", path, inputs)
    got = run_model("native", path, inputs)
    bad = [i for i, (e, g) in enumerate(zip(expected, got, strict=True))
           if not np.array_equal(e, g)]
    assert not bad, (f"{path.name} (input seed {seed}): {len(bad)}/{len(inputs)} outputs "
                     "differ, first input "
                     f"{bad[0]}: tflm {expected[bad[0]].ravel()[:16]} "
                     f"native {got[bad[0]].ravel()[:16]}")
    return expected


def distinct_values(outputs: list[np.ndarray]) -> int:
    """How many different values ``outputs`` hold (a check exercises the arithmetic, not a
    saturated constant, when this is large)."""
    return len(np.unique(np.concatenate([x.ravel() for x in outputs])))


def check_case_on_random_inputs(name: str, path: Path, shape: tuple[int, ...], count: int
                                ) -> None:
    """``count`` random inputs (seed :func:`stable_seed` of ``name``) through tflite-micro and
    the compiled C: equal outputs, and not a saturated constant (the check exercises the
    arithmetic)."""
    seed = stable_seed(name)
    expected = assert_native_equals_tflm(path, random_int8_inputs(shape, count, seed), seed)
    assert distinct_values(expected) > 8, f"{name} (input seed {seed}): outputs saturated"
