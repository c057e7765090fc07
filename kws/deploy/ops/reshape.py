"""RESHAPE: no code; the output aliases the input's storage (kws/deploy/planner.py), except
where the model input is also the model output: then ``kws_reshape`` copies
(firmware/core/kernels/reshape.c)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kws.deploy.ops import common
from kws.deploy.ops.base import Call, OpDef, Weights
from kws.deploy.ops.common import fail

if TYPE_CHECKING:
    from kws.deploy.graph import Graph, Op, Tensor


def _validate(graph: Graph, op: Op, inp: Tensor, out: Tensor) -> None:
    if out.size != inp.size:
        raise fail(graph, op.label(), f"changes the element count ({inp.size} -> "
                   f"{out.size})")
    common.check_same_quantization(graph, op, inp, out)


def _lower(graph: Graph, op: Op, w: Weights) -> Call:
    inp, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    return Call(op, "kws_reshape", "", {"size": inp.size}, 0, inp.index, out.index)


OP = OpDef("RESHAPE", _validate, _lower, aliases_input=True)
