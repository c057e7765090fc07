"""Lowering a graph to kernel calls, fusing where a fused kernel saves memory.

A convolution over a one-channel input (DS-CNN's first layer on MFCC features) followed by
a strided depthwise convolution (DS-CNN-M/L's first block) would hold the convolution's
whole output, the largest tensor of the model, only for the depthwise convolution to
shrink it. ``kws_conv_depthwise_fused`` (firmware/core/kernels/conv_depthwise_fused.h)
computes the convolution one output channel at a time straight into the depthwise
kernel's plane, so that tensor never exists. Every other op lowers through its module in
:mod:`kws.deploy.ops`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from kws.deploy import ops
from kws.deploy.ops import depthwise_conv_2d
from kws.deploy.ops.base import SCRATCH, Call, Weights

if TYPE_CHECKING:
    from kws.deploy.graph import Graph, Op


def _plane_bytes(height: int, width: int) -> int:
    return -(-2 * height * width // 4) * 4


def _fusable(graph: Graph, conv: Op, dw: Op) -> bool:
    """``conv`` (one input channel) feeds only ``dw`` (multiplier 1), which shrinks it."""
    if conv.kind not in ("CONV_2D", "DEPTHWISE_CONV_2D") or dw.kind != "DEPTHWISE_CONV_2D":
        return False
    source, middle = graph.tensor(conv.inputs[0]), graph.tensor(conv.outputs[0])
    out = graph.tensor(dw.outputs[0])
    readers = [op for op in graph.ops if middle.index in op.inputs]
    return (source.shape[3] == 1 and dw.inputs[0] == middle.index and readers == [dw]
            and middle.index != graph.output and out.shape[3] == middle.shape[3]
            and out.size < middle.size)


def _fused_call(graph: Graph, conv: Op, dw: Op, w: Weights) -> Call:
    filt = graph.tensor(conv.inputs[1])
    # CONV_2D filters are OHWI [C][H][W][1]; the depthwise kernel reads [1][H][W][C].
    filter_1hwc = (np.transpose(filt.data, (3, 1, 2, 0)) if conv.kind == "CONV_2D"
                   else filt.data)
    first = depthwise_conv_2d.lower_plane(graph, conv, w, filter_1hwc, filt.scales,
                                          force_plane=True)
    second = depthwise_conv_2d.lower_plane(graph, dw, w, graph.tensor(dw.inputs[1]).data,
                                           graph.tensor(dw.inputs[1]).scales,
                                           force_plane=True)
    a, b = first.fields, second.fields
    # KWS_CONV_DEPTHWISE_FUSED_SCRATCH_BYTES
    scratch = (_plane_bytes(a["plane_height"], a["plane_width"])
               + 4 * a["output_height"] * a["output_width"]
               + _plane_bytes(b["plane_height"] + 1, b["plane_width"]) + 4 * b["output_width"])
    tag = f"op{dw.index}"
    fields = {"conv": f"&{tag}_conv_params", "depthwise": f"&{tag}_depthwise_params",
              "scratch": SCRATCH}
    structs = [("conv_params", "KwsDepthwiseConv2DParams", {**a, "scratch": None}),
               ("depthwise_params", "KwsDepthwiseConv2DParams", {**b, "scratch": None})]
    return Call(dw, "kws_conv_depthwise_fused", "KwsConvDepthwiseParams", fields,
                first.macs + second.macs, first.input, second.output, scratch,
                structs=structs)


def lower_graph(graph: Graph, w: Weights) -> list[Call]:
    """One kernel call per op, or one per fused pair of ops (see the module docstring)."""
    calls: list[Call] = []
    i = 0
    while i < len(graph.ops):
        op = graph.ops[i]
        if i + 1 < len(graph.ops) and _fusable(graph, op, graph.ops[i + 1]):
            calls.append(_fused_call(graph, op, graph.ops[i + 1], w))
            i += 2
            continue
        calls.append(ops.get(op.kind).lower(graph, op, w))
        i += 1
    return calls
