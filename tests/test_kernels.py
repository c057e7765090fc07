"""Each int8 kernel against the tflite-micro interpreter, bit for bit.

Every case is a one-op (or RESHAPE + op) model built with Keras and the full-int8 converter,
compiled by kws.deploy, built for the host (the portable C path) and run on 200 random int8
inputs next to tflite-micro. Models are built once per session.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from support.int8_models import (
    biased_layers,
    chain_model,
    check_case_on_random_inputs,
    convert,
    stable_seed,
)
from support.m4_batch import check_cases_on_m4, needs_m4

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

NUM_INPUTS = 200


def _cases() -> dict[str, tuple[Callable[[], object], list[str], dict]]:
    """name -> (model builder, expected op kinds, options: converter flags, ``rep_std``).

    ``rep_std`` is the spread of the calibration data, which sets the input scale.
    """
    from keras import layers

    conv, dw, dense = biased_layers()
    return {
        "conv_3x3_s1_same_relu": (
            lambda: chain_model((12, 10, 3), conv(8, 3, padding="same", activation="relu")),
            ["CONV_2D"], {}),
        "conv_5x3_s2_same_none": (
            lambda: chain_model((13, 9, 2), conv(6, (5, 3), strides=2, padding="same")),
            ["CONV_2D"], {}),
        "conv_10x4_s21_valid_relu6": (
            lambda: chain_model((25, 10, 1), conv(7, (10, 4), strides=(2, 1)),
                                layers.ReLU(max_value=6.0)),
            ["CONV_2D"], {}),
        "conv_4x4_s3_same_even_kernel": (
            lambda: chain_model((11, 11, 3), conv(5, 4, strides=3, padding="same")),
            ["CONV_2D"], {}),
        "conv_1x1_pointwise_relu": (
            lambda: chain_model((7, 5, 16), conv(9, 1, activation="relu")), ["CONV_2D"], {}),
        "conv_1x1_s2_no_bias": (
            lambda: chain_model((8, 6, 5), layers.Conv2D(4, 1, strides=2, use_bias=False)),
            ["CONV_2D"], {}),
        # Filters over the compiler's pre-widening limit (8 KiB): the M4's LDM dot groups
        # over packed int8 words, with (none) and without (relu) the folded channel terms;
        # 3 x 2 = 6 pixels leave a short last group of 2.
        "conv_3x3_large_filter_none": (
            lambda: chain_model((6, 5, 32), conv(40, 3, padding="same")), ["CONV_2D"], {}),
        "conv_3x3_large_filter_relu": (
            lambda: chain_model((5, 4, 24), conv(48, 3, activation="relu")), ["CONV_2D"], {}),
        "dw_3x3_m1_same_relu": (
            lambda: chain_model((10, 8, 12), dw(3, padding="same", activation="relu")),
            ["DEPTHWISE_CONV_2D"], {}),
        "dw_3x3_m1_s2_same_relu6": (
            lambda: chain_model((11, 9, 7), dw(3, strides=2, padding="same"),
                                layers.ReLU(max_value=6.0)),
            ["DEPTHWISE_CONV_2D"], {}),
        # Inputs large enough for the int16 plane path: 3x3 stride 1 walks three lines
        # (depthwise_lines.h), 5x3 stride (2, 1) the generic plane loop.
        "dw_3x3_m1_plane_lines": (
            lambda: chain_model((12, 10, 32), dw(3, padding="same")),
            ["DEPTHWISE_CONV_2D"], {}),
        "dw_5x3_m1_s21_plane_relu": (
            lambda: chain_model((16, 12, 24), dw((5, 3), strides=(2, 1), padding="same",
                                                 activation="relu")),
            ["DEPTHWISE_CONV_2D"], {}),
        "dw_5x2_m2_valid": (
            lambda: chain_model((9, 8, 3), dw((5, 2), depth_multiplier=2)),
            ["DEPTHWISE_CONV_2D"], {}),
        "dw_3x3_m3_s2_same": (
            lambda: chain_model((8, 8, 2),
                                dw(3, strides=2, depth_multiplier=3, padding="same")),
            ["DEPTHWISE_CONV_2D"], {}),
        "avgpool_2x2_s2_valid": (
            lambda: chain_model((8, 6, 5), layers.AveragePooling2D(2)),
            ["AVERAGE_POOL_2D"], {}),
        "avgpool_3x3_s1_same": (
            lambda: chain_model((7, 5, 4), layers.AveragePooling2D(3, 1, padding="same")),
            ["AVERAGE_POOL_2D"], {}),
        "avgpool_whole_map": (
            lambda: chain_model((25, 5, 8), layers.AveragePooling2D((25, 5))),
            ["AVERAGE_POOL_2D"], {}),
        "mean_global": (
            lambda: chain_model((6, 5, 8), layers.GlobalAveragePooling2D()), ["MEAN"], {}),
        "mean_global_keepdims": (
            lambda: chain_model((5, 3, 6), layers.GlobalAveragePooling2D(keepdims=True)),
            ["MEAN"], {}),
        "fc_per_channel": (lambda: chain_model((40,), dense(10)), ["FULLY_CONNECTED"], {}),
        "fc_per_channel_relu": (
            lambda: chain_model((64,), dense(12, activation="relu")),
            ["FULLY_CONNECTED"], {}),
        "fc_per_tensor": (
            lambda: chain_model((33,), dense(7)),
            ["FULLY_CONNECTED"], {"per_tensor_dense": True}),
        "fc_after_flatten": (
            lambda: chain_model((5, 4, 3), layers.Flatten(), dense(6)),
            ["RESHAPE", "FULLY_CONNECTED"], {}),
        "softmax_narrow": (lambda: chain_model((8,), layers.Softmax()), ["SOFTMAX"], {}),
        "softmax_wide_rows": (
            lambda: chain_model((3, 4, 10), layers.Softmax()), ["SOFTMAX"], {"rep_std": 8.0}),
        "reshape_copy": (
            lambda: chain_model((6, 4), layers.Reshape((4, 6))), ["RESHAPE"], {}),
    }


CASES = [
    "conv_3x3_s1_same_relu", "conv_5x3_s2_same_none", "conv_10x4_s21_valid_relu6",
    "conv_4x4_s3_same_even_kernel", "conv_1x1_pointwise_relu", "conv_1x1_s2_no_bias",
    "conv_3x3_large_filter_none", "conv_3x3_large_filter_relu",
    "dw_3x3_m1_same_relu", "dw_3x3_m1_s2_same_relu6", "dw_3x3_m1_plane_lines",
    "dw_5x3_m1_s21_plane_relu", "dw_5x2_m2_valid", "dw_3x3_m3_s2_same",
    "avgpool_2x2_s2_valid", "avgpool_3x3_s1_same", "avgpool_whole_map", "mean_global",
    "mean_global_keepdims", "fc_per_channel", "fc_per_channel_relu", "fc_per_tensor",
    "fc_after_flatten", "softmax_narrow", "softmax_wide_rows", "reshape_copy",
]


@pytest.fixture(scope="session")
def op_models(tmp_path_factory) -> Callable[[str], tuple[Path, list[str]]]:
    import keras

    cases = _cases()
    assert sorted(cases) == sorted(CASES)
    root = tmp_path_factory.mktemp("op_models")
    built: dict[str, tuple[Path, list[str]]] = {}

    def get(name: str) -> tuple[Path, list[str]]:
        if name not in built:
            builder, kinds, opts = cases[name]
            opts = dict(opts)
            rep_std = opts.pop("rep_std", 1.0)
            keras.utils.set_random_seed(stable_seed(name) % 1000)
            model = builder()
            rng = np.random.default_rng(7)
            rep = rng.normal(0.0, rep_std, (16, *model.input_shape[1:])).astype(np.float32)
            path = root / f"{name}.tflite"
            path.write_bytes(convert(model, rep, **opts))
            built[name] = (path, kinds)
        return built[name]

    return get


@pytest.mark.parametrize("name", CASES)
def test_kernel_matches_tflite_micro(op_models, name: str) -> None:
    from kws.deploy import load_graph

    path, kinds = op_models(name)
    graph = load_graph(path)
    assert [op.kind for op in graph.ops] == kinds, "test model does not hold the intended op"
    check_case_on_random_inputs(name, path, graph.tensor(graph.input).shape, NUM_INPUTS)


@needs_m4
def test_every_kernel_case_on_the_m4_matches_tflite_micro(op_models, tmp_path) -> None:
    """Every case again on the hand-written Cortex-M4 paths (DSP-extension SMLAD groups,
    depthwise lines, dot products), all cases in one firmware image under QEMU."""
    check_cases_on_m4({name: op_models(name)[0] for name in CASES}, NUM_INPUTS, tmp_path)


def test_fused_options_are_what_the_cases_claim(op_models) -> None:
    from kws.deploy import load_graph

    def options(name: str) -> dict:
        return load_graph(op_models(name)[0]).ops[-1].options

    assert options("conv_3x3_s1_same_relu")["activation"] == 1
    assert options("conv_3x3_s1_same_relu")["padding"] == "SAME"
    assert options("conv_10x4_s21_valid_relu6")["activation"] == 3
    assert options("conv_10x4_s21_valid_relu6")["padding"] == "VALID"
    assert options("dw_3x3_m1_s2_same_relu6")["activation"] == 3
    graph = load_graph(op_models("fc_per_tensor")[0])
    assert graph.tensor(graph.ops[0].inputs[1]).scales.size == 1
    graph = load_graph(op_models("fc_per_channel")[0])
    assert graph.tensor(graph.ops[0].inputs[1]).scales.size == 10


def test_softmax_scale_tflm_refuses_is_refused_too():
    """TFLM aborts on a softmax whose input multiplier is not above one; so do we."""
    from kws.deploy.quantize import softmax_params

    tiny = 0.99 / 2.0**26  # beta * scale * 2^26 = 0.99
    with pytest.raises(ValueError, match="not above one"):
        softmax_params(1.0, tiny)
    with pytest.raises(ValueError, match="not above one"):
        softmax_params(1.0, 1.0 / 2.0**26)
    mult, shift, diff_min = softmax_params(1.0, 0.1)
    assert mult > 0 and shift >= 0 and diff_min < 0


def test_every_registered_op_has_a_kernel_and_a_case() -> None:
    """An op is one module in kws/deploy/ops, one kernel in firmware/core/kernels (same
    name, included by kernels.h) and at least one case here."""
    from kws.deploy import ops

    kernels = Path(__file__).resolve().parent.parent / "firmware" / "core" / "kernels"
    included = (kernels / "kernels.h").read_text()
    for module in ops.MODULES:
        name = module.__name__.rsplit(".", 1)[1]
        assert (kernels / f"{name}.c").is_file(), f"no kernel {name}.c for {module.OP.kind}"
        assert f'#include "kernels/{name}.h"' in included, name
    tested = {kind for _, kinds, _ in _cases().values() for kind in kinds}
    assert tested == set(ops.SUPPORTED_OPS)
