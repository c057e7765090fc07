"""CONV_2D: ``kws_conv_2d`` (firmware/core/kernels/conv_2d.c); pointwise convolutions run in
place as ``kws_conv_2d_pointwise_inplace`` (conv_2d_inplace.c).

The input offset is folded into the bias; filters are stored as packed int8 words, or
pre-widened to int16 pairs when small; a proven-exact requantization folds the output
offset into per-channel terms (``channel_terms``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from kws.deploy import quantize as q
from kws.deploy.ops import common
from kws.deploy.ops.base import SCRATCH, Call, InPlaceVariant, OpDef, Weights
from kws.deploy.ops.common import fail

if TYPE_CHECKING:
    from kws.deploy.graph import Graph, Op, Tensor

# Largest int8 conv filter the compiler stores pre-widened (KwsConv2DParams.filter_widened):
# each costs its size again in flash, which large models (DS-CNN-M/L) cannot spare.
_WIDEN_FILTER_MAX_BYTES = 8 * 1024
# Pixels per staged block of the pointwise in-place variant: kws_conv_2d's group size
# (KWS_CONV_2D_PIXELS), so every call runs full groups and staging stays small.
POINTWISE_BLOCK_PIXELS = 4
_ALIGN = 16  # the planner's scratch alignment; kernels expect word-aligned areas


def _decode(opts: Any) -> dict[str, Any]:
    return common.decode_window(opts, dilation=True)


def _validate(graph: Graph, op: Op, inp: Tensor, out: Tensor) -> None:
    if len(op.inputs) < 2:
        raise fail(graph, op.label(), "needs input and filter")
    w = graph.tensor(op.inputs[1])
    if len(w.shape) != 4:
        raise fail(graph, op.label(), f"filter shape {list(w.shape)} is not OHWI")
    common.check_activation_kind(graph, op)
    common.check_window(graph, op, inp, out, w.shape[1], w.shape[2])
    if w.shape[3] != inp.shape[3]:
        raise fail(graph, op.label(), f"filter depth {w.shape[3]} != input depth "
                   f"{inp.shape[3]} (grouped convolution is not supported)")
    if w.shape[0] != out.shape[3]:
        raise fail(graph, op.label(), "filter count does not match output depth")
    common.check_weights(graph, op, w, w.shape[0], 0)
    common.check_bias(graph, op, w.shape[0])


def _pack_int8_words(rows: np.ndarray) -> np.ndarray:
    """int8 ``[n][k]`` -> int32 ``[n][ceil(k/4)]``: value ``4j + i`` in bits ``8i..8i+7``
    of word ``j``, rows zero-padded (the kernels' SXTB16 layout, independent of endianness)."""
    rows = np.asarray(rows, np.int64).reshape(rows.shape[0], -1)
    k4 = -(-rows.shape[1] // 4) * 4
    padded = np.zeros((rows.shape[0], k4), np.int64)
    padded[:, : rows.shape[1]] = rows
    b = (padded & 0xFF).reshape(rows.shape[0], -1, 4)
    words = b[..., 0] | (b[..., 1] << 8) | (b[..., 2] << 16) | (b[..., 3] << 24)
    return np.where(words >= 2**31, words - 2**32, words)


def _pack_widened_words(rows: np.ndarray) -> np.ndarray:
    """int8 ``[n][k]`` -> int32 ``[n][ceil(k/4)][2]``: per group of four taps the words
    (tap 0, tap 2) and (tap 1, tap 3), int16 halves low first -- SXTB16 of the
    :func:`_pack_int8_words` word and of its ROR #8."""
    rows = np.asarray(rows, np.int64).reshape(rows.shape[0], -1)
    k4 = -(-rows.shape[1] // 4) * 4
    padded = np.zeros((rows.shape[0], k4), np.int64)
    padded[:, : rows.shape[1]] = rows
    g = padded.reshape(rows.shape[0], -1, 4)
    even = common.pack_int16_pairs(np.stack([g[..., 0], g[..., 2]], axis=-1))
    odd = common.pack_int16_pairs(np.stack([g[..., 1], g[..., 3]], axis=-1))
    return np.stack([even, odd], axis=-1)


def _channel_terms(w: Weights, tag: str, fast: int, folded: np.ndarray, mult: np.ndarray,
                   shift: np.ndarray, output_offset: int, act_min: int,
                   act_max: int) -> str | None:
    """KwsConv2DParams.channel_terms, or ``None`` where the folded form is not proven exact.

    Per channel ``(folded bias, multiplier, rounding + (output_offset << right_shift),
    right_shift)``. With ``kws_requantize_fast`` exact (``fast``: ``|acc| < 2^30``, so
    ``|v| <= 2^30`` after SMMULR) and ``right_shift >= 1``, adding ``output_offset *
    2^right_shift`` before the arithmetic shift adds exactly ``output_offset`` after it;
    the sum ``|v| + 2^(r-1) + 128 * 2^r + 1`` stays below 2^31 for ``r <= 22``. A full int8
    activation range makes the clamp one saturation.
    """
    right = -np.asarray(shift, np.int64)
    mult = np.asarray(mult, np.int64)
    if not fast or act_min != -128 or act_max != 127 or np.any(right > 22):
        return None
    active = mult != 0  # multiplier 0: v = 0, rounding 0 (any right shift >= 0 works)
    right = np.where(active, right, 1)
    rounding = np.where(active, np.left_shift(1, right - 1), 0) + (output_offset << right)
    if np.any(right < 1):
        return None
    terms = np.stack([np.asarray(folded, np.int64), mult, rounding, right], axis=1)
    return w.add(f"{tag}_channel_terms", "int32_t", terms)


def _lower(graph: Graph, op: Op, w: Weights) -> Call:
    filt = graph.tensor(op.inputs[1])
    return lower_ohwi(graph, op, w, filt.data, filt.scales)


def lower_ohwi(graph: Graph, op: Op, w: Weights, filter_ohwi: np.ndarray,
               filter_scales: np.ndarray) -> Call:
    """The ``kws_conv_2d`` call of ``op`` (a CONV_2D, or a DEPTHWISE_CONV_2D over one input
    channel: the same sums) with an OHWI int8 filter and its per-output-channel scales.

    Parameters
    ----------
    graph, op
        The model and the op; its options give strides, padding and activation.
    w
        Collects the const arrays.
    filter_ohwi
        int8 ``[output_depth][kh][kw][input_depth]``.
    filter_scales
        One scale, or one per output channel.
    """
    inp, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    _, oh, ow, oc = out.shape
    kh, kw = filter_ohwi.shape[1], filter_ohwi.shape[2]
    fields = common.conv_fields(op, inp, out, kh, kw, depthwise=False)
    mult, shift = q.per_channel_multipliers(inp.scale, filter_scales, out.scale, oc)
    tag = f"op{op.index}"
    # Fold the input offset into the bias: sum over every tap of each output channel.
    rows = np.asarray(filter_ohwi).astype(np.int64).reshape(oc, -1)
    folded = common.bias_values(graph, op, oc) + (-inp.zero_point) * rows.sum(axis=1)
    acc_bound = int(np.max(np.abs(folded) + 128 * np.abs(rows).sum(axis=1)))
    patch_size = -(-rows.shape[1] // 4) * 4
    pointwise = kh == kw == 1 and fields["padding_top"] == fields["padding_left"] == 0
    requantize = common.requantize_fields(w, tag, mult, shift, acc_bound)
    # Pre-widened filters double the filter's flash; small ones (DS-CNN-S) only.
    widened = rows.size <= _WIDEN_FILTER_MAX_BYTES
    fields.update({
        "patch_size": patch_size,
        "filter": w.add(f"{tag}_filter", "int32_t",
                        _pack_widened_words(rows) if widened else _pack_int8_words(rows)),
        "filter_widened": int(widened),
        "folded_bias": w.add(f"{tag}_folded_bias", "int32_t", folded),
        **requantize,
        "channel_terms": _channel_terms(w, tag, requantize["fast_requantize"], folded, mult,
                                        shift, out.zero_point, fields["activation_min"],
                                        fields["activation_max"]),
        "scratch": SCRATCH,
    })
    # KWS_CONV_2D_SCRATCH_BYTES: 4 pixels widened to int16, plus an int8 im2col patch.
    scratch = 4 * 2 * patch_size + (0 if pointwise else patch_size)
    return Call(op, "kws_conv_2d", "KwsConv2DParams", fields, oh * ow * oc * kh * kw * inp.shape[3],
                inp.index, out.index, scratch)


def _align(n: int) -> int:
    return -(-n // _ALIGN) * _ALIGN


def _in_place(call: Call) -> InPlaceVariant | None:
    """Pointwise (1x1, stride 1, no padding): ``kws_conv_2d_pointwise_inplace`` runs the
    ordinary ``kws_conv_2d`` over blocks of pixels staged in scratch (see
    firmware/core/kernels/conv_2d_inplace.h for the overlap argument), so both share one
    inner loop."""
    fields = call.fields
    pointwise = (
        fields["filter_height"] == fields["filter_width"] == 1
        and fields["stride_height"] == fields["stride_width"] == 1
        and fields["padding_top"] == fields["padding_left"] == 0
        and fields["output_height"] == fields["input_height"]
        and fields["output_width"] == fields["input_width"]
    )
    if not pointwise:
        return None
    num_pixels = fields["output_height"] * fields["output_width"]
    block = min(POINTWISE_BLOCK_PIXELS, num_pixels)
    tail = num_pixels % block
    staging = _align(block * fields["input_depth"])
    conv_scratch = f"{SCRATCH}+{staging}"

    def image(pixels: int) -> dict[str, Any]:
        return {**fields, "input_height": 1, "input_width": pixels,
                "output_height": 1, "output_width": pixels, "scratch": conv_scratch}

    structs = [("block_params", "KwsConv2DParams", image(block))]
    if tail:
        structs.append(("tail_params", "KwsConv2DParams", image(tail)))
    op_index = call.op.index
    main = {
        "block": f"&op{op_index}_block_params",
        "tail": f"&op{op_index}_tail_params" if tail else None,
        "num_pixels": num_pixels, "block_pixels": block,
        "input_depth": fields["input_depth"], "output_depth": fields["output_depth"],
        "staging": SCRATCH,
    }
    return InPlaceVariant("kws_conv_2d_pointwise_inplace", "KwsConv2DInPlaceParams", main,
                          staging + call.scratch_bytes, structs)


OP = OpDef("CONV_2D", _validate, _lower, options_class="Conv2DOptions", decode=_decode,
           in_place=_in_place)
