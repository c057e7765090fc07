"""SOFTMAX over the last dimension: ``kws_softmax`` (firmware/core/kernels/softmax.c), TFLM's
int8 fixed-point softmax with output scale 1/256 and zero point -128."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from kws.deploy import quantize as q
from kws.deploy.ops.base import Call, OpDef, Weights
from kws.deploy.ops.common import fail, tensor_label

if TYPE_CHECKING:
    from kws.deploy.graph import Graph, Op, Tensor


def _decode(opts: Any) -> dict[str, Any]:
    return {"beta": float(np.float32(opts.Beta()))}


def _validate(graph: Graph, op: Op, inp: Tensor, out: Tensor) -> None:
    if out.zero_point != -128 or np.float32(out.scale) != np.float32(1.0 / 256.0):
        raise fail(graph, f"{op.label()} output {tensor_label(out)}", "needs scale 1/256 "
                   f"and zero point -128 (has {out.scale}, {out.zero_point})")
    if out.shape != inp.shape:
        raise fail(graph, op.label(), "output shape differs from input shape")
    if not np.isfinite(op.options.get("beta", 1.0)) or op.options.get("beta", 1.0) <= 0:
        raise fail(graph, op.label(), "beta must be positive")


def _lower(graph: Graph, op: Op, w: Weights) -> Call:
    inp, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    depth = inp.shape[-1]
    try:
        mult, left_shift, diff_min = q.softmax_params(op.options.get("beta", 1.0), inp.scale)
    except ValueError as exc:
        raise fail(graph, op.label(), str(exc)) from exc
    fields = {
        "rows": inp.size // depth, "depth": depth, "input_multiplier": mult,
        "input_left_shift": left_shift, "diff_min": diff_min,
    }
    return Call(op, "kws_softmax", "KwsSoftmaxParams", fields, 0, inp.index, out.index)


OP = OpDef("SOFTMAX", _validate, _lower, options_class="SoftmaxOptions", decode=_decode)
