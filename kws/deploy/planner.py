"""Static memory planning: tensor lifetimes -> offsets in one arena.

Every intermediate int8 tensor gets a byte range in a single static arena; two tensors may
share bytes when their lifetimes (first producing op .. last consuming op) do not overlap.
An op whose output aliases its input (RESHAPE; ``OpDef.aliases_input``) never moves data: its
output shares its input's storage, so it costs no time and no memory. The model input and
output live in caller-owned buffers.

Ops whose kernel has an in-place variant (``OpDef.in_place``: pointwise CONV_2D,
DEPTHWISE_CONV_2D with depth multiplier 1; see kws/deploy/ops/) may write their output over
their own input: the planner picks them (:func:`select_in_place`) when nothing reads the
input afterwards and both tensors live in the arena, and gives input and output one buffer
of the larger size. That is the only overlap of live tensors a plan ever has; the kernel's
scratch stays separate.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from kws.deploy import ops

ALIGNMENT = 16  # bytes; word-aligned for the M4 loads, cache-line friendly on the host


@dataclass
class Buffer:
    """One storage area shared by a tensor, its aliases (RESHAPE) and in-place outputs."""

    tensors: list[int]
    kind: str  # "input" | "output" | "arena"
    size: int
    first: int  # first op that writes it (-1: before the first op, i.e. the model input)
    last: int  # last op that reads it (len(ops): read after the last op, i.e. model output)
    offset: int = 0


@dataclass
class MemoryPlan:
    """Where every activation tensor lives; ``arena_bytes`` is the static arena size."""

    buffers: list[Buffer]
    tensor_buffer: dict[int, int]  # tensor index -> index into buffers
    arena_bytes: int
    copy_ops: set[int]  # aliasing ops that must copy (model input straight to model output)
    in_place_ops: set[int] = field(default_factory=set)  # ops writing over their input

    def location(self, tensor: int) -> tuple[str, int]:
        """(kind, offset) of a tensor: kind is "input", "output" or "arena"."""
        b = self.buffers[self.tensor_buffer[tensor]]
        return b.kind, b.offset


def _align(n: int) -> int:
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


class _Groups:
    """Union-find over tensors that share storage."""

    def __init__(self, tensors: Collection[int]) -> None:
        self.parent = {t: t for t in tensors}

    def find(self, t: int) -> int:
        parent = self.parent
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    def members(self, t: int) -> set[int]:
        root = self.find(t)
        return {u for u in self.parent if self.find(u) == root}

    def union(self, keep: int, other: int) -> None:
        self.parent[self.find(other)] = self.find(keep)


def _reshape_aliases(
    op_io: list[tuple[str, list[int], int]], sizes: dict[int, int], graph_input: int,
    graph_output: int,
) -> tuple[_Groups, set[int]]:
    groups = _Groups(sizes)
    copy_ops: set[int] = set()
    for i, (kind, inputs, output) in enumerate(op_io):
        if not ops.aliases_input(kind):
            continue
        group = groups.members(inputs[0]) | groups.members(output)
        if graph_input in group and graph_output in group:
            copy_ops.add(i)  # the caller's input and output are distinct buffers
            continue
        groups.union(inputs[0], output)
    return groups, copy_ops


def _in_place_blocker(
    i: int, op_io: list[tuple[str, list[int], int]], groups: _Groups, graph_input: int,
    graph_output: int,
) -> str | None:
    """Why op ``i`` cannot write its output over its input (``None``: it can)."""
    _, inputs, output = op_io[i]
    source, target = groups.members(inputs[0]), groups.members(output)
    if source & target:
        return "input and output already share storage"
    if graph_input in source:
        return "its input is the caller's (const) model input"
    if graph_output in source or graph_output in target:
        return "the model output is a separate caller buffer"
    if graph_input in target:
        return "its output aliases the model input"
    later = [j for j in range(i + 1, len(op_io)) if source & set(op_io[j][1])]
    if later:
        return f"op {later[0]} still reads its input"
    return None


def select_in_place(
    op_io: list[tuple[str, list[int], int]],
    sizes: dict[int, int],
    graph_input: int,
    graph_output: int,
    candidates: Collection[int],
) -> set[int]:
    """The candidate ops that can run in place, in op order.

    Parameters
    ----------
    op_io
        Per op: (kind, [activation input, scratch pseudo tensors...], output tensor).
    sizes
        Byte size of every tensor in ``op_io``.
    graph_input, graph_output
        Tensor indices of the model input and output (caller-owned buffers).
    candidates
        Ops whose kernel has an in-place variant.

    Returns
    -------
    set of int
        Ops whose input is not read by any later op and whose input and output would both
        live in the arena.
    """
    groups, _ = _reshape_aliases(op_io, sizes, graph_input, graph_output)
    chosen: set[int] = set()
    for i in sorted(candidates):
        if _in_place_blocker(i, op_io, groups, graph_input, graph_output) is None:
            chosen.add(i)
            groups.union(op_io[i][1][0], op_io[i][2])
    return chosen


def plan_memory(
    num_ops: int,
    op_io: list[tuple[str, list[int], int]],
    sizes: dict[int, int],
    graph_input: int,
    graph_output: int,
    in_place: Collection[int] = (),
) -> MemoryPlan:
    """Plan the arena.

    Parameters
    ----------
    num_ops
        Number of ops.
    op_io
        Per op: (kind, activation input tensor indices, output tensor index). Inputs after
        the first are the op's scratch areas (pseudo tensors live during that op only).
    sizes
        Byte size of every activation tensor.
    graph_input, graph_output
        Tensor indices of the model input and output (caller-owned buffers).
    in_place
        Ops that write their output over their input (from :func:`select_in_place`): their
        input and output share one buffer.

    Raises
    ------
    ValueError
        When an op in ``in_place`` cannot run in place (its input is read later, or one of
        its tensors is a caller buffer).
    """
    groups, copy_ops = _reshape_aliases(op_io, sizes, graph_input, graph_output)
    for i in sorted(in_place):
        why = _in_place_blocker(i, op_io, groups, graph_input, graph_output)
        if why is not None:
            raise ValueError(f"op {i} cannot run in place: {why}")
        groups.union(op_io[i][1][0], op_io[i][2])

    roots: dict[int, list[int]] = {}
    for t in sizes:
        roots.setdefault(groups.find(t), []).append(t)
    buffers: list[Buffer] = []
    tensor_buffer: dict[int, int] = {}
    for tensors in roots.values():
        tensors.sort()
        members = set(tensors)
        first, last = num_ops, -1
        for i, (_, inputs, output) in enumerate(op_io):
            if output in members or members.intersection(inputs):
                first = min(first, i)
                last = max(last, i)
        if graph_input in members:
            kind, first = "input", -1
        elif graph_output in members:
            kind, last = "output", num_ops
        else:
            kind = "arena"
        for t in tensors:
            tensor_buffer[t] = len(buffers)
        buffers.append(Buffer(tensors, kind, max(sizes[t] for t in tensors), first, last))

    # Greedy by size (largest first), each at the lowest aligned offset that does not
    # collide with an already placed buffer whose lifetime overlaps.
    arena = [b for b in buffers if b.kind == "arena"]
    placed: list[Buffer] = []
    for b in sorted(arena, key=lambda b: (-b.size, b.first)):
        live = sorted(
            (p for p in placed if p.first <= b.last and b.first <= p.last),
            key=lambda p: p.offset,
        )
        offset = 0
        for p in live:
            if offset + b.size <= p.offset:
                break
            offset = max(offset, _align(p.offset + p.size))
        b.offset = offset
        placed.append(b)
    arena_bytes = max((_align(b.offset + b.size) for b in arena), default=0)
    return MemoryPlan(buffers, tensor_buffer, arena_bytes, copy_ops, set(in_place))
