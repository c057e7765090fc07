"""DEPTHWISE_CONV_2D: ``kws_depthwise_conv_2d`` (firmware/core/kernels/depthwise_conv_2d.c);
with depth multiplier 1 it runs in place as ``kws_depthwise_conv_2d_inplace``; over a single
input channel it is lowered as a convolution (``kws_conv_2d``).

Filters are stored per output channel as int16 tap pairs for the kernel's widened input
plane; where that plane would cost more RAM than it saves, the direct path reads the int8
HWC filter with the input offset folded into the bias.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from kws.deploy import quantize as q
from kws.deploy.ops import common, conv_2d
from kws.deploy.ops.base import SCRATCH, Call, InPlaceVariant, OpDef, Weights
from kws.deploy.ops.common import fail

if TYPE_CHECKING:
    from kws.deploy.graph import Graph, Op, Tensor


def _decode(opts: Any) -> dict[str, Any]:
    out = common.decode_window(opts, dilation=True)
    out["depth_multiplier"] = int(opts.DepthMultiplier())
    return out


def _validate(graph: Graph, op: Op, inp: Tensor, out: Tensor) -> None:
    if len(op.inputs) < 2:
        raise fail(graph, op.label(), "needs input and filter")
    w = graph.tensor(op.inputs[1])
    if len(w.shape) != 4 or w.shape[0] != 1:
        raise fail(graph, op.label(), f"filter shape {list(w.shape)} is not [1,H,W,C]")
    common.check_activation_kind(graph, op)
    common.check_window(graph, op, inp, out, w.shape[1], w.shape[2])
    in_c, out_c = inp.shape[3], out.shape[3]
    if w.shape[3] != out_c or out_c % in_c:
        raise fail(graph, op.label(), f"filter depth {w.shape[3]} / output depth {out_c} "
                   f"is not a multiple of input depth {in_c}")
    mult = op.options.get("depth_multiplier", 0)
    if mult not in (0, out_c // in_c):
        raise fail(graph, op.label(), f"depth_multiplier {mult} != output/input depth")
    common.check_weights(graph, op, w, out_c, 3)
    common.check_bias(graph, op, out_c)


def _lower(graph: Graph, op: Op, w: Weights) -> Call:
    inp = graph.tensor(op.inputs[0])
    filt = graph.tensor(op.inputs[1])
    if inp.shape[3] == 1:
        # One input channel (micro_speech's 10x8, multiplier 8): every output channel
        # reads the same taps, which is a CONV_2D with the filter [1,H,W,C] as OHWI
        # [C,H,W,1] -- the same sums and requantization as TFLM's depthwise kernel, run by
        # the convolution's SIMD path instead of the generic depthwise loop.
        return conv_2d.lower_ohwi(graph, op, w, np.transpose(filt.data, (3, 1, 2, 0)),
                                  filt.scales)
    return lower_plane(graph, op, w, filt.data, filt.scales)


def lower_plane(graph: Graph, op: Op, w: Weights, filter_1hwc: np.ndarray,
                filter_scales: np.ndarray, force_plane: bool = False) -> Call:
    """The ``kws_depthwise_conv_2d`` call of ``op`` with a ``[1][kh][kw][output_depth]``
    int8 filter and its per-output-channel scales (a CONV_2D over one input channel is a
    depthwise convolution of multiplier = its output depth).

    Parameters
    ----------
    graph, op
        The model and the op; its options give strides, padding and activation.
    w
        Collects the const arrays.
    filter_1hwc, filter_scales
        The filter and one scale, or one per output channel.
    force_plane
        Always the plane path, never the direct one (the fused convolution + depthwise
        kernel runs the plane path's stages).
    """
    inp, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    o = op.options
    _, oh, ow, oc = out.shape
    kh, kw = filter_1hwc.shape[1], filter_1hwc.shape[2]
    fields = common.conv_fields(op, inp, out, kh, kw, depthwise=True)
    bias = common.bias_values(graph, op, oc)
    mult, shift = q.per_channel_multipliers(inp.scale, filter_scales, out.scale, oc)
    tag = f"op{op.index}"
    # Per output channel, each filter row as int16 tap pairs (odd widths end with a
    # zero tap): one SMLAD per pair over the kernel's widened input plane, whose values
    # already carry the input offset, so the plain bias applies and padding reads 0.
    # [oc][kh][kw]
    taps = np.asarray(filter_1hwc).astype(np.int64).reshape(kh, kw, oc).transpose(2, 0, 1)
    pairs = -(-kw // 2)
    padded = np.zeros((oc, kh, 2 * pairs), np.int64)
    padded[:, :, :kw] = taps
    acc_bound = int(np.max(np.abs(bias) + 255 * np.abs(taps).reshape(oc, -1).sum(axis=1)))
    # The plane holds every tap any output reads (KWS_DEPTHWISE_CONV_2D_SCRATCH_BYTES).
    plane_h = (oh - 1) * o["stride_h"] + kh
    plane_w = (ow - 1) * o["stride_w"] + 2 * pairs
    scratch = -(-2 * plane_h * plane_w // 4) * 4 + 4 * oh * ow
    # The plane path pays off when many channels share one small plane; for a few
    # wide channels (micro_speech: 1 channel x 8) it would cost more RAM than the input
    # itself, so those use the direct kernel with the offset folded into the bias.
    use_plane = force_plane or scratch <= inp.size // 2
    folded = bias + (-inp.zero_point) * taps.reshape(oc, -1).sum(axis=1)
    fields.update({
        "plane_height": plane_h, "plane_width": plane_w, "filter_pairs": pairs,
        "filter": w.add(f"{tag}_filter", "int32_t",
                        common.pack_int16_pairs(padded.reshape(oc, kh, pairs, 2))),
        "bias": w.add(f"{tag}_bias", "int32_t", bias),
        "filter_hwc": (None if use_plane
                       else w.add(f"{tag}_filter_hwc", "int8_t", filter_1hwc)),
        "folded_bias": (None if use_plane
                        else w.add(f"{tag}_folded_bias", "int32_t", folded)),
        **common.requantize_fields(w, tag, mult, shift, acc_bound),
        "scratch": SCRATCH if use_plane else None,
    })
    return Call(op, "kws_depthwise_conv_2d", "KwsDepthwiseConv2DParams", fields,
                oh * ow * oc * kh * kw, inp.index, out.index, scratch if use_plane else 0)


def _in_place(call: Call) -> InPlaceVariant | None:
    """Depth multiplier 1 (any filter, stride, padding): ``kws_depthwise_conv_2d_inplace``
    over the same params; its scratch is one channel's int16 plane with a spare row (stored
    transposed for 3x3 stride-1 filters) plus the int32 accumulators of one output row or
    column."""
    fields = call.fields
    if call.function != "kws_depthwise_conv_2d" or fields["depth_multiplier"] != 1:
        return None  # lowered as a convolution (one input channel), or multiplier > 1
    plane = (fields["plane_height"] + 1) * fields["plane_width"]
    # KWS_DEPTHWISE_CONV_2D_INPLACE_SCRATCH_BYTES
    scratch = -(-2 * plane // 4) * 4 + 4 * max(fields["output_height"],
                                               fields["output_width"])
    # Always the plane path: the out-of-place kernel's direct-path arrays (if the
    # compiler chose that path) are not used.
    plane_fields = {**fields, "scratch": SCRATCH}
    for key in ("filter_hwc", "folded_bias"):
        if key in plane_fields:
            plane_fields[key] = None
    return InPlaceVariant("kws_depthwise_conv_2d_inplace", "KwsDepthwiseConv2DParams",
                          plane_fields, scratch)


OP = OpDef("DEPTHWISE_CONV_2D", _validate, _lower, options_class="DepthwiseConv2DOptions",
           decode=_decode, in_place=_in_place)
