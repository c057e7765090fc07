"""DS-CNN builder: shapes, parameter and MAC counts, and the int8 graph it exports to."""

from __future__ import annotations

import numpy as np
import pytest

from kws.errors import KwsError
from kws.export import convert_int8, quantize_inputs, run_int8
from kws.model import DS_CNN_SIZES, count_macs, count_params, ds_cnn, parse_model_name
from kws.modelinfo import DS_CNN_OPS, io_quantization, tflite_ops


def expected_macs(frames: int, channels: int, size: str, classes: int) -> int:
    """MACs from the layer arithmetic, written out independently of the Keras graph."""
    spec = DS_CNN_SIZES[size]
    c = spec.channels
    h = -(-frames // spec.first_stride[0])
    w = -(-channels // spec.first_stride[1])
    total = h * w * c * spec.first_kernel[0] * spec.first_kernel[1]
    for sh, sw in spec.block_strides:
        h, w = -(-h // sh), -(-w // sw)
        total += h * w * c * 9 + h * w * c * c
    return total + c * classes


@pytest.mark.parametrize("size", ["xs", "s", "m", "l"])
def test_shapes_and_counts(size: str) -> None:
    model = ds_cnn((49, 10, 1), 12, size)
    assert model.input_shape == (None, 49, 10, 1)
    assert model.output_shape == (None, 12)
    assert count_macs(model) == expected_macs(49, 10, size, 12)
    assert count_params(model) == model.count_params() > 0
    probs = np.asarray(model(np.zeros((2, 49, 10, 1), np.float32), training=False))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_hello_edge_mac_counts() -> None:
    # Hello Edge DS-CNN-S on 49x10 MFCC: ~2.66 M MACs (paper: 2.7 M operations/2).
    s_mfcc = ds_cnn((49, 10, 1), 12, "s")
    assert count_macs(s_mfcc) == 2_656_768
    assert count_params(s_mfcc) < 30_000
    # 40 micro-frontend channels: first conv and every block see 4x the width.
    s_micro = ds_cnn((49, 40, 1), 12, "s")
    assert count_macs(s_micro) == 10_624_768
    # M and L downsample time and frequency again in the first block.
    assert 9_000_000 < count_macs(ds_cnn((49, 10, 1), 12, "m")) < 11_000_000
    assert count_macs(ds_cnn((49, 10, 1), 12, "l")) > count_macs(ds_cnn((49, 10, 1), 12, "m"))


def test_two_dimensional_input_shape_gets_channel_axis() -> None:
    assert ds_cnn((49, 40), 3, "xs").input_shape == (None, 49, 40, 1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"input_shape": (49, 40, 2), "num_classes": 3},
        {"input_shape": (49, 40, 1), "num_classes": 1},
        {"input_shape": (49, 40, 1), "num_classes": 3, "size": "xl"},
    ],
)
def test_bad_arguments_raise(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        ds_cnn(**kwargs)


def test_parse_model_name() -> None:
    assert parse_model_name("ds-cnn-s") == "s"
    assert parse_model_name("DS-CNN-L") == "l"
    assert parse_model_name("ds-cnn-xs") == "xs"
    with pytest.raises(ValueError, match="unknown model"):
        parse_model_name("cnn-trad-fpool3")


def _calibration(rng: np.random.Generator, n: int, shape: tuple[int, int]) -> np.ndarray:
    # Feature-like values: micro frontend inputs lie in 0..26 after the 10/256 scale.
    return (rng.random((n, *shape), dtype=np.float32) * 26.0).astype(np.float32)


@pytest.mark.parametrize("size,shape", [("xs", (49, 40)), ("s", (49, 10))])
def test_int8_export_has_only_ds_cnn_kernels(size: str, shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    model = ds_cnn((*shape, 1), 4, size)
    flatbuffer = convert_int8(model, _calibration(rng, 32, shape))
    ops = tflite_ops(flatbuffer)
    assert set(ops) <= DS_CNN_OPS, ops
    for op in ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "FULLY_CONNECTED", "SOFTMAX"):
        assert op in ops
    assert ops.count("DEPTHWISE_CONV_2D") == len(DS_CNN_SIZES[size].block_strides)
    assert ops[-1] == "SOFTMAX"
    inp, out = io_quantization(flatbuffer)
    assert inp.shape == (1, *shape, 1) and inp.dtype == "int8"
    assert out.shape == (1, 4) and out.dtype == "int8"
    assert (out.scale, out.zero_point) == (1.0 / 256.0, -128)
    assert inp.scale > 0 and -128 <= inp.zero_point <= 127


def test_int8_model_tracks_float_model(tmp_path) -> None:
    """tflite-micro output of the exported model is close to the float model's softmax."""
    from kws.engines import open_session

    rng = np.random.default_rng(1)
    model = ds_cnn((49, 40, 1), 4, "xs")
    calib = _calibration(rng, 64, (49, 40))
    path = tmp_path / "m.tflite"
    path.write_bytes(convert_int8(model, calib))
    inp, out = io_quantization(path)
    x = _calibration(rng, 16, (49, 40))
    q = quantize_inputs(x, inp.scale, inp.zero_point)
    got = run_int8(open_session("tflm", path), q)
    assert got.shape == (16, 4) and got.dtype == np.int8
    probs = (got.astype(np.float32) - out.zero_point) * out.scale
    want = np.asarray(model(x[..., None], training=False))
    assert np.max(np.abs(probs - want)) < 0.08


def test_quantize_inputs_rounds_half_away_and_clips() -> None:
    x = np.array([0.0, 0.25, -0.25, 0.75, 1.0, 1000.0, -1000.0], np.float32)
    q = quantize_inputs(x, 0.5, 3)
    # x / 0.5 = 0, 0.5, -0.5, 1.5, 2 -> round half away: 0, 1, -1, 2, 2
    assert q.tolist() == [3, 4, 2, 5, 5, 127, -128]
    assert q.dtype == np.int8


def test_modelinfo_rejects_non_tflite(tmp_path) -> None:
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a flatbuffer at all")
    with pytest.raises(KwsError, match="bad.tflite: not a .tflite model"):
        tflite_ops(bad)
    with pytest.raises(KwsError, match="missing.tflite: cannot read model"):
        io_quantization(tmp_path / "missing.tflite")
