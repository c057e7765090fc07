"""Validation and lowering helpers shared by several op modules.

Every refusal is one :class:`~kws.errors.KwsError` naming the model file, the op and the
tensor or property at fault. Lowering helpers build params fields in the order of the C
structs' members.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from kws.deploy import quantize as q
from kws.deploy.ops.base import Weights
from kws.errors import KwsError

if TYPE_CHECKING:
    from kws.deploy.graph import Graph, Op, Tensor

# Fused activations the kernels clamp to (tflite ActivationFunctionType codes).
ACTIVATIONS = {0: "NONE", 1: "RELU", 3: "RELU6"}
_ACTIVATION_NAMES = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}


def fail(graph: Graph, where: str, problem: str) -> KwsError:
    """The error for ``problem`` at ``where`` (an op label, a tensor) in ``graph``'s file."""
    return KwsError(f"{graph.path}: {where}: {problem}")


def tensor_label(t: Tensor) -> str:
    return f"tensor {t.index} '{t.name}'"


def decode_window(opts: Any, dilation: bool) -> dict[str, Any]:
    """Padding, strides, fused activation (and dilation) of a conv or pool options table."""
    import tflite

    out: dict[str, Any] = {
        "padding": "SAME" if opts.Padding() == tflite.Padding.SAME else "VALID",
        "stride_h": int(opts.StrideH()), "stride_w": int(opts.StrideW()),
        "activation": int(opts.FusedActivationFunction()),
    }
    if dilation:
        out["dilation_h"] = int(opts.DilationHFactor())
        out["dilation_w"] = int(opts.DilationWFactor())
    return out


def check_weights(graph: Graph, op: Op, t: Tensor, channels: int, channel_dim: int) -> None:
    """Constant symmetric int8 weights, per tensor or per ``channel_dim`` channel."""
    where = f"{op.label()} weights {tensor_label(t)}"
    if t.data is None:
        raise fail(graph, where, "are not constant")
    if t.dtype != "int8":
        raise fail(graph, where, f"type is {t.dtype} (int8 weights are required)")
    if t.scales.size not in (1, channels):
        raise fail(graph, where, f"have {t.scales.size} scales (need 1 or {channels})")
    if t.scales.size == channels and channels > 1 and t.quantized_dimension != channel_dim:
        raise fail(graph, where, f"are quantized along dimension {t.quantized_dimension} "
                   f"(expected {channel_dim})")
    if t.zero_points.size and np.any(t.zero_points != 0):
        raise fail(graph, where, "are not symmetric (non-zero weight zero point)")
    if not np.all(np.isfinite(t.scales)) or np.any(t.scales <= 0):
        raise fail(graph, where, "have a non-positive or non-finite scale")


def _bias_index(op: Op) -> int:
    return op.inputs[2] if len(op.inputs) > 2 else -1


def check_bias(graph: Graph, op: Op, channels: int) -> None:
    """The optional third input: a constant int32 bias with one value per channel."""
    index = _bias_index(op)
    if index < 0:
        return
    t = graph.tensor(index)
    where = f"{op.label()} bias {tensor_label(t)}"
    if t.data is None:
        raise fail(graph, where, "is not constant")
    if t.dtype != "int32":
        raise fail(graph, where, f"type is {t.dtype} (int32 bias is required)")
    if t.size != channels:
        raise fail(graph, where, f"has {t.size} values (expected {channels})")


def bias_values(graph: Graph, op: Op, channels: int) -> np.ndarray:
    """The bias as int64 (zeros when the op has none)."""
    index = _bias_index(op)
    if index < 0:
        return np.zeros(channels, np.int64)
    return graph.tensor(index).data.astype(np.int64).reshape(-1)


def check_activation_kind(graph: Graph, op: Op) -> None:
    act = op.options.get("activation", 0)
    if act not in ACTIVATIONS:
        name = _ACTIVATION_NAMES.get(act, str(act))
        raise fail(graph, op.label(), f"fused activation {name} is not supported "
                   "(NONE, RELU, RELU6)")


def _expected_spatial(in_size: int, k: int, stride: int, padding: str) -> int:
    if padding == "SAME":
        return (in_size + stride - 1) // stride
    return (in_size - k + stride) // stride


def check_window(graph: Graph, op: Op, inp: Tensor, out: Tensor, kh: int, kw: int) -> None:
    """Options present, strides valid, no dilation, 4-D NHWC, output size from padding."""
    o = op.options
    if o.get("missing"):
        raise fail(graph, op.label(), "has no options table")
    if o["stride_h"] < 1 or o["stride_w"] < 1:
        raise fail(graph, op.label(), f"stride {o['stride_h']}x{o['stride_w']} is invalid")
    if o.get("dilation_h", 1) != 1 or o.get("dilation_w", 1) != 1:
        raise fail(graph, op.label(), f"dilation {o['dilation_h']}x{o['dilation_w']} is not "
                   "supported (only dilation 1)")
    if len(inp.shape) != 4 or len(out.shape) != 4:
        raise fail(graph, op.label(), f"input/output must be 4-D NHWC (got {list(inp.shape)} "
                   f"-> {list(out.shape)})")
    oh = _expected_spatial(inp.shape[1], kh, o["stride_h"], o["padding"])
    ow = _expected_spatial(inp.shape[2], kw, o["stride_w"], o["padding"])
    if (oh, ow) != out.shape[1:3]:
        raise fail(graph, op.label(), f"output {list(out.shape)} does not match "
                   f"{o['padding']} padding with strides (expected {oh}x{ow})")


def check_same_quantization(graph: Graph, op: Op, inp: Tensor, out: Tensor) -> None:
    if np.float32(inp.scale) != np.float32(out.scale) or inp.zero_point != out.zero_point:
        raise fail(graph, op.label(), "input and output quantization differ "
                   f"({inp.scale}/{inp.zero_point} vs {out.scale}/{out.zero_point})")


def same_padding(in_size: int, k: int, stride: int, out_size: int, padding: str) -> int:
    """Rows (columns) of zero padding before the input: TFLM's SAME split, 0 for VALID."""
    if padding != "SAME":
        return 0
    total = max(0, (out_size - 1) * stride + k - in_size)
    return total // 2


def window_fields(op: Op, inp: Tensor, out: Tensor, kh: int, kw: int) -> dict[str, Any]:
    """Filter size, strides and padding fields of a conv or pool params struct."""
    o = op.options
    _, ih, iw, _ = inp.shape
    _, oh, ow, _ = out.shape
    return {
        "filter_height": kh, "filter_width": kw,
        "stride_height": o["stride_h"], "stride_width": o["stride_w"],
        "padding_top": same_padding(ih, kh, o["stride_h"], oh, o["padding"]),
        "padding_left": same_padding(iw, kw, o["stride_w"], ow, o["padding"]),
    }


_FAST_REQUANTIZE_LIMIT = 2**30  # |accumulator| bound for kws_requantize_fast


def requantize_fields(w: Weights, tag: str, mult: np.ndarray, shift: np.ndarray,
                      acc_bound: int) -> dict[str, Any]:
    """Multiplier, shift and the fast-path rounding terms of a per-channel requantization.

    ``kws_requantize_fast`` is exact when every channel shifts right (or has multiplier 0)
    and ``|acc| <= acc_bound < 2^30`` (see firmware/core/kernels/quantize.h).
    """
    mult = np.asarray(mult, np.int64)
    shift = np.asarray(shift, np.int64)
    right = np.maximum(-shift, 0)
    rounding = np.where((shift <= -1), np.left_shift(1, np.maximum(right - 1, 0)), 0)
    fast = bool(np.all((shift <= -1) | (mult == 0)) and acc_bound < _FAST_REQUANTIZE_LIMIT)
    return {
        "output_multiplier": w.add(f"{tag}_multiplier", "int32_t", mult),
        "output_shift": w.add(f"{tag}_shift", "int32_t", shift),
        "output_rounding": w.add(f"{tag}_rounding", "int32_t", rounding),
        "fast_requantize": int(fast),
    }


def pack_int16_pairs(pairs: np.ndarray) -> np.ndarray:
    """int16 ``[..., 2]`` -> int32 words, element 0 in the low half (SMLAD operands)."""
    p = np.asarray(pairs, np.int64)
    words = (p[..., 0] & 0xFFFF) | ((p[..., 1] & 0xFFFF) << 16)
    return np.where(words >= 2**31, words - 2**32, words)


def conv_fields(op: Op, inp: Tensor, out: Tensor, kh: int, kw: int,
                depthwise: bool) -> dict[str, Any]:
    """The fields CONV_2D and DEPTHWISE_CONV_2D params share: shapes, window, offsets and
    the fused activation's clamp."""
    _, ih, iw, ic = inp.shape
    _, oh, ow, oc = out.shape
    act_min, act_max = q.activation_range(op.options["activation"], out.scale, out.zero_point)
    fields: dict[str, Any] = {
        "input_height": ih, "input_width": iw, "input_depth": ic,
        "output_height": oh, "output_width": ow, "output_depth": oc,
    }
    if depthwise:
        fields["depth_multiplier"] = oc // ic
    fields.update(window_fields(op, inp, out, kh, kw))
    fields.update({
        "input_offset": -inp.zero_point, "output_offset": out.zero_point,
        "activation_min": act_min, "activation_max": act_max,
    })
    return fields
