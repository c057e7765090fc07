"""AVERAGE_POOL_2D: ``kws_average_pool_2d`` (firmware/core/kernels/average_pool_2d.c)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kws.deploy import quantize as q
from kws.deploy.ops import common
from kws.deploy.ops.base import Call, OpDef, Weights
from kws.deploy.ops.common import fail

if TYPE_CHECKING:
    from kws.deploy.graph import Graph, Op, Tensor


def _decode(opts: Any) -> dict[str, Any]:
    out = common.decode_window(opts, dilation=False)
    out["filter_h"], out["filter_w"] = int(opts.FilterHeight()), int(opts.FilterWidth())
    return out


def _validate(graph: Graph, op: Op, inp: Tensor, out: Tensor) -> None:
    common.check_activation_kind(graph, op)
    common.check_window(graph, op, inp, out, op.options["filter_h"], op.options["filter_w"])
    if op.options["filter_h"] < 1 or op.options["filter_w"] < 1:
        raise fail(graph, op.label(), "filter size is invalid")
    if out.shape[3] != inp.shape[3]:
        raise fail(graph, op.label(), "output depth differs from input depth")
    common.check_same_quantization(graph, op, inp, out)


def _lower(graph: Graph, op: Op, w: Weights) -> Call:
    inp, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    o = op.options
    _, ih, iw, c = inp.shape
    _, oh, ow, _ = out.shape
    act_min, act_max = q.activation_range(o["activation"], out.scale, out.zero_point)
    fields = {
        "input_height": ih, "input_width": iw, "depth": c,
        "output_height": oh, "output_width": ow,
        **common.window_fields(op, inp, out, o["filter_h"], o["filter_w"]),
        "activation_min": act_min, "activation_max": act_max,
    }
    return Call(op, "kws_average_pool_2d", "KwsAveragePool2DParams", fields, 0,
                inp.index, out.index)


OP = OpDef("AVERAGE_POOL_2D", _validate, _lower, options_class="Pool2DOptions",
           decode=_decode)
