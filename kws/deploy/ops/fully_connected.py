"""FULLY_CONNECTED: ``kws_fully_connected`` (firmware/core/kernels/fully_connected.c), per
tensor or per output channel, with the input offset folded into the bias."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from kws.deploy import quantize as q
from kws.deploy.ops import common
from kws.deploy.ops.base import Call, OpDef, Weights
from kws.deploy.ops.common import fail

if TYPE_CHECKING:
    from kws.deploy.graph import Graph, Op, Tensor


def _decode(opts: Any) -> dict[str, Any]:
    return {
        "activation": int(opts.FusedActivationFunction()),
        "weights_format": int(opts.WeightsFormat()),
        "keep_num_dims": bool(opts.KeepNumDims()),
        "asymmetric_quantize_inputs": bool(opts.AsymmetricQuantizeInputs()),
    }


def _validate(graph: Graph, op: Op, inp: Tensor, out: Tensor) -> None:
    if len(op.inputs) < 2:
        raise fail(graph, op.label(), "needs input and weights")
    o = op.options
    if o.get("missing"):
        raise fail(graph, op.label(), "has no options table")
    common.check_activation_kind(graph, op)
    if o["weights_format"] != 0:
        raise fail(graph, op.label(), "shuffled weights format is not supported")
    if o["asymmetric_quantize_inputs"]:
        raise fail(graph, op.label(), "hybrid (float input) quantization is not supported")
    w = graph.tensor(op.inputs[1])
    if len(w.shape) != 2:
        raise fail(graph, op.label(), f"weights shape {list(w.shape)} is not [out, in]")
    if inp.size % w.shape[1]:
        raise fail(graph, op.label(), f"input size {inp.size} is not a multiple of "
                   f"weights depth {w.shape[1]}")
    if out.size != inp.size // w.shape[1] * w.shape[0]:
        raise fail(graph, op.label(), f"output {list(out.shape)} does not match weights "
                   f"{list(w.shape)}")
    common.check_weights(graph, op, w, w.shape[0], 0)
    common.check_bias(graph, op, w.shape[0])


def _lower(graph: Graph, op: Op, w: Weights) -> Call:
    inp, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    weights = graph.tensor(op.inputs[1])
    out_c, in_c = weights.shape
    folded = (common.bias_values(graph, op, out_c)
              + (-inp.zero_point) * weights.data.astype(np.int64).sum(axis=1))
    per_channel = weights.scales.size > 1
    n = out_c if per_channel else 1
    mult, shift = q.per_channel_multipliers(inp.scale, weights.scales[:n], out.scale, n)
    act_min, act_max = q.activation_range(op.options["activation"], out.scale, out.zero_point)
    tag = f"op{op.index}"
    fields = {
        "batches": inp.size // in_c, "input_depth": in_c, "output_depth": out_c,
        "output_offset": out.zero_point,
        "activation_min": act_min, "activation_max": act_max,
        "weights": w.add(f"{tag}_weights", "int8_t", weights.data),
        "folded_bias": w.add(f"{tag}_folded_bias", "int32_t", folded),
        "output_multiplier": w.add(f"{tag}_multiplier", "int32_t", mult),
        "output_shift": w.add(f"{tag}_shift", "int32_t", shift),
        "per_channel": int(per_channel),
    }
    return Call(op, "kws_fully_connected", "KwsFullyConnectedParams", fields,
                inp.size // in_c * out_c * in_c, inp.index, out.index)


OP = OpDef("FULLY_CONNECTED", _validate, _lower, options_class="FullyConnectedOptions",
           decode=_decode)
