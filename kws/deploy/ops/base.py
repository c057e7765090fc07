"""What an op module provides (:class:`OpDef`) and what its lowering produces (:class:`Call`).

An op module ``kws/deploy/ops/<op>.py`` defines one ``OP = OpDef(...)``: how to decode the
op's options from the flatbuffer, how to validate it, how to lower it to one kernel call and,
optionally, how to run it in place. The registry (:mod:`kws.deploy.ops`) collects them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from kws.errors import KwsError

if TYPE_CHECKING:
    from kws.deploy.graph import Graph, Op, Tensor

SCRATCH = "@scratch"  # field value replaced by the op's scratch area in the arena


@dataclass
class Call:
    """One kernel call of the invoke function."""

    op: Op
    function: str  # kernel function name
    struct: str  # params struct type ("" for reshape)
    fields: dict[str, Any]  # scalar fields and array references (by symbol)
    macs: int
    input: int
    output: int
    scratch_bytes: int = 0  # working memory in the arena, live during this op only
    in_place: bool = False  # writes its output over its input: function(&params, data)
    # Params structs the main one points to, emitted before it: (name suffix, type, fields).
    structs: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class InPlaceVariant:
    """How to call an op's in-place kernel.

    Attributes
    ----------
    function, struct, fields
        Kernel function, its params struct type and the struct's fields (the compiler's
        scratch marker, optionally ``+ offset``, stands for the op's scratch area).
    scratch_bytes
        Working memory the variant needs in the arena while the op runs.
    structs
        Params structs the main one points to, emitted first: (name suffix, struct type,
        fields); referenced from ``fields`` as ``&op<N>_<suffix>``.
    """

    function: str
    struct: str
    fields: dict[str, Any]
    scratch_bytes: int
    structs: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)


class Weights:
    """Collects const arrays, deduplicated by content."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.arrays: list[tuple[str, str, np.ndarray]] = []  # (symbol, ctype, values)
        self._by_content: dict[tuple[str, bytes], str] = {}

    def add(self, label: str, ctype: str, values: np.ndarray) -> str:
        """Symbol of a const ``ctype`` array holding ``values`` (added unless already held)."""
        dtype = {"int8_t": np.int8, "int32_t": np.int32}[ctype]
        info = np.iinfo(dtype)
        values = np.asarray(values).reshape(-1)
        if values.size and (values.min() < info.min or values.max() > info.max):
            raise KwsError(f"{label}: a value does not fit {ctype}")
        values = values.astype(dtype)
        key = (ctype, values.tobytes())
        if key in self._by_content:
            return self._by_content[key]
        symbol = f"{self.prefix}_{label}"
        self.arrays.append((symbol, ctype, values))
        self._by_content[key] = symbol
        return symbol

    @property
    def nbytes(self) -> int:
        return sum(v.nbytes for _, _, v in self.arrays)


@dataclass(frozen=True)
class OpDef:
    """Everything the compiler knows about one builtin op.

    Attributes
    ----------
    kind
        The tflite builtin name (``"CONV_2D"``).
    validate
        ``validate(graph, op, input, output)`` raises :class:`~kws.errors.KwsError` for
        anything the kernel cannot run bit-exactly; the common activation checks ran before.
    lower
        ``lower(graph, op, weights)`` -> the :class:`Call` of the out-of-place kernel.
    options_class
        Name of the op's ``tflite`` options table class (``None``: the op reads no options).
    decode
        ``decode(options)`` -> the options as a dict, from the initialised options table.
    in_place
        ``in_place(call)`` -> the :class:`InPlaceVariant` writing the output over the
        input, or ``None`` where this call cannot; the planner decides whether it does.
    aliases_input
        The output is the input reinterpreted (RESHAPE): the planner gives both one buffer
        and no code runs, except a copy ``function(src, dst, fields["size"])`` where the
        model input would become the model output.
    """

    kind: str
    validate: Callable[[Graph, Op, Tensor, Tensor], None]
    lower: Callable[[Graph, Op, Weights], Call]
    options_class: str | None = None
    decode: Callable[[Any], dict[str, Any]] | None = None
    in_place: Callable[[Call], InPlaceVariant | None] | None = None
    aliases_input: bool = False
