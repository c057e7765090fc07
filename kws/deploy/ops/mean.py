"""MEAN over height and width of an NHWC tensor: ``kws_mean`` (firmware/core/kernels/mean.c)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kws.deploy import quantize as q
from kws.deploy.ops.base import Call, OpDef, Weights
from kws.deploy.ops.common import fail

if TYPE_CHECKING:
    from kws.deploy.graph import Graph, Op, Tensor


def _decode(opts: Any) -> dict[str, Any]:
    return {"keep_dims": bool(opts.KeepDims())}


def _validate(graph: Graph, op: Op, inp: Tensor, out: Tensor) -> None:
    axis = graph.tensor(op.inputs[1]) if len(op.inputs) > 1 else None
    if axis is None or axis.data is None:
        raise fail(graph, op.label(), "axis must be a constant tensor")
    axes = sorted({int(a) % 4 for a in axis.data.reshape(-1)}) if len(inp.shape) == 4 else []
    if len(inp.shape) != 4 or axes != [1, 2]:
        raise fail(graph, op.label(), f"only the mean over height and width of a 4-D "
                   f"tensor is supported (input {list(inp.shape)}, axis "
                   f"{axis.data.reshape(-1).tolist()})")
    if out.size != inp.shape[3]:
        raise fail(graph, op.label(), f"output {list(out.shape)} does not hold "
                   f"{inp.shape[3]} channels")


def _lower(graph: Graph, op: Op, w: Weights) -> Call:
    inp, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    _, ih, iw, c = inp.shape
    mult, shift = q.mean_multiplier(inp.scale, out.scale, ih * iw)
    fields = {
        "input_height": ih, "input_width": iw, "depth": c,
        "input_zero_point": inp.zero_point, "output_zero_point": out.zero_point,
        "multiplier": mult, "shift": shift,
    }
    return Call(op, "kws_mean", "KwsMeanParams", fields, 0, inp.index, out.index)


OP = OpDef("MEAN", _validate, _lower, options_class="ReducerOptions", decode=_decode)
