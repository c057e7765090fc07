"""The op registry: one module per supported tflite builtin op.

Each module ``kws/deploy/ops/<op>.py`` defines ``OP``, an :class:`~kws.deploy.ops.base.OpDef`
holding everything kws knows about that op: how to decode its options from the flatbuffer,
how to validate it (one clear refusal per unsupported property), how to lower it to one
kernel call of ``firmware/core/kernels`` (params and constants), and whether it can run in
place. The graph reader, the compiler and the planner ask this registry instead of
switching on op names.

Adding an op: a module here with its ``OP``, listed in ``MODULES``; its kernel as one C file
(+ header) of the same name in ``firmware/core/kernels``, included from ``kernels.h``; a case
in ``tests/test_kernels.py`` comparing it with tflite-micro bit for bit (a test there checks
all three are present).
"""

from __future__ import annotations

from kws.deploy.ops import (
    average_pool_2d,
    conv_2d,
    depthwise_conv_2d,
    fully_connected,
    mean,
    reshape,
    softmax,
)
from kws.deploy.ops.base import SCRATCH, Call, InPlaceVariant, OpDef, Weights

# Every op module, in the order of the "supported:" list in refusals.
MODULES = (conv_2d, depthwise_conv_2d, average_pool_2d, mean, fully_connected, softmax,
            reshape)
REGISTRY: dict[str, OpDef] = {m.OP.kind: m.OP for m in MODULES}
SUPPORTED_OPS: tuple[str, ...] = tuple(REGISTRY)


def get(kind: str) -> OpDef | None:
    """The definition of op ``kind`` (a tflite builtin name), ``None`` if unsupported."""
    return REGISTRY.get(kind)


def aliases_input(kind: str) -> bool:
    """Whether op ``kind``'s output is its input reinterpreted (no data moves)."""
    op = REGISTRY.get(kind)
    return op is not None and op.aliases_input


__all__ = ["MODULES", "REGISTRY", "SCRATCH", "SUPPORTED_OPS", "Call", "InPlaceVariant", "OpDef",
           "Weights", "aliases_input", "get"]
