"""The kernel paths added for speed, against the tflite-micro interpreter, bit for bit.

- DEPTHWISE_CONV_2D over one input channel (micro_speech's 10x8, multiplier 8) is lowered
  as a CONV_2D and runs the convolution's SIMD path.
- The convolution's im2col copies whole filter rows and fills padding rows word by word;
  its border cases (rows above / below, columns left / right, both) are exercised by SAME
  padding with strides and odd depths.
- A convolution over one input channel followed by a strided depthwise convolution runs as
  one fused kernel (``kws_conv_depthwise_fused``, DS-CNN-M/L's first two layers); without
  the stride (DS-CNN-S) the pair stays two kernels.

Each case is a one-op model run on the host (portable C) and under QEMU's Cortex-M4 (the
SMLAD path) on random int8 inputs, next to tflite-micro.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from support import int8_models as models

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

NUM_INPUTS = 150


def _cases() -> dict[str, tuple[Callable[[], object], list[str]]]:
    """name -> (model builder, the kernel functions the compiler must choose)."""
    from keras import layers

    conv, dw, _ = models.biased_layers()
    chain = models.chain_model
    return {
        # micro_speech's layer: 10x8, stride 2, SAME, multiplier 8, ReLU.
        "dw_10x8_m8_s2_same_one_channel": (
            lambda: chain((25, 20, 1), dw((10, 8), strides=2, depth_multiplier=8,
                                          padding="same", activation="relu")),
            ["kws_conv_2d"]),
        "dw_3x3_m5_valid_one_channel": (
            lambda: chain((9, 7, 1), dw(3, depth_multiplier=5)), ["kws_conv_2d"]),
        "dw_4x3_m3_s21_same_one_channel_relu6": (
            lambda: chain((11, 6, 1), dw((4, 3), strides=(2, 1), depth_multiplier=3,
                                         padding="same"), layers.ReLU(max_value=6.0)),
            ["kws_conv_2d"]),
        # DS-CNN's first layer with SAME padding: rows above and below the input.
        "conv_10x4_s2_same_depth1": (
            lambda: chain((49, 10, 1), conv(12, (10, 4), strides=2, padding="same",
                                            activation="relu")),
            ["kws_conv_2d"]),
        # Depth 3: filter rows are not whole words; left and right borders.
        "conv_3x5_s1_same_depth3": (
            lambda: chain((6, 9, 3), conv(5, (3, 5), padding="same")), ["kws_conv_2d"]),
        # DS-CNN-M/L's first layers: conv 10x4 stride (2, 1), then a depthwise stride 2.
        "fused_conv_10x4_s21_dw_3x3_s2": (
            lambda: chain((49, 10, 1), conv(12, (10, 4), strides=(2, 1), padding="same",
                                            activation="relu"),
                          dw(3, strides=2, padding="same", activation="relu")),
            ["kws_conv_depthwise_fused"]),
        # A one-channel depthwise (multiplier 6) as the convolution, VALID, ReLU6 after.
        "fused_dw1_m6_valid_dw_3x2_s2_relu6": (
            lambda: chain((15, 11, 1), dw((4, 3), depth_multiplier=6),
                          dw((3, 2), strides=2), layers.ReLU(max_value=6.0)),
            ["kws_conv_depthwise_fused"]),
        # DS-CNN-S: the depthwise does not shrink the convolution's output: no fusion.
        "unfused_conv_10x4_s2_dw_3x3_s1": (
            lambda: chain((49, 10, 1), conv(8, (10, 4), strides=2, padding="same",
                                            activation="relu"),
                          dw(3, padding="same", activation="relu")),
            ["kws_conv_2d", "kws_depthwise_conv_2d"]),
    }


@pytest.fixture(scope="module")
def speed_models(tmp_path_factory) -> Callable[[str], Path]:
    import keras

    cases = _cases()
    root = tmp_path_factory.mktemp("speed_models")
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            keras.utils.set_random_seed(sum(map(ord, name)) % 1000)
            model = cases[name][0]()
            rng = np.random.default_rng(11)
            rep = rng.normal(0.0, 1.0, (16, *model.input_shape[1:])).astype(np.float32)
            path = root / f"{name}.tflite"
            path.write_bytes(models.convert(model, rep))
            built[name] = path
        return built[name]

    return get


CASES = ["dw_10x8_m8_s2_same_one_channel", "dw_3x3_m5_valid_one_channel",
         "dw_4x3_m3_s21_same_one_channel_relu6", "conv_10x4_s2_same_depth1",
         "conv_3x5_s1_same_depth3", "fused_conv_10x4_s21_dw_3x3_s2",
         "fused_dw1_m6_valid_dw_3x2_s2_relu6", "unfused_conv_10x4_s2_dw_3x3_s1"]


def _inputs(path: Path, name: str) -> list[np.ndarray]:
    from kws.deploy import load_graph

    graph = load_graph(path)
    return models.random_int8_inputs(graph.tensor(graph.input).shape, NUM_INPUTS,
                              seed=sum(map(ord, name)))


@pytest.mark.parametrize("name", CASES)
def test_kernel_path_native_equals_tflm(speed_models, tmp_path, name: str) -> None:
    from kws.deploy import compile_model

    path = speed_models(name)
    compiled = compile_model(path, tmp_path, name="model")
    assert [op["function"] for op in compiled.ops] == _cases()[name][1]
    expected = models.assert_native_equals_tflm(path, _inputs(path, name))
    assert models.distinct_values(expected) > 8


@pytest.mark.arm
@pytest.mark.parametrize("name", CASES)
def test_kernel_path_cortex_m4_equals_tflm(speed_models, tmp_path, name: str) -> None:
    from test_compiler import assert_cortex_m4_equals_tflm

    path = speed_models(name)
    assert_cortex_m4_equals_tflm(path, tmp_path, _inputs(path, name))
