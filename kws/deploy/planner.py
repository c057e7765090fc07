"""Static memory planning: tensor lifetimes -> offsets in one arena.

Every intermediate int8 tensor gets a byte range in a single static arena; two tensors may
share bytes when their lifetimes (first producing op .. last consuming op) do not overlap.
RESHAPE never moves data: its output is an alias of its input (same storage), so it costs
no time and no memory. The model input and output live in caller-owned buffers.
"""

from __future__ import annotations

from dataclasses import dataclass

ALIGNMENT = 16  # bytes; word-aligned for the M4 loads, cache-line friendly on the host


@dataclass
class Buffer:
    """One storage area shared by a tensor and its RESHAPE aliases."""

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
    copy_ops: set[int]  # RESHAPE ops that must copy (model input straight to model output)

    def location(self, tensor: int) -> tuple[str, int]:
        """(kind, offset) of a tensor: kind is "input", "output" or "arena"."""
        b = self.buffers[self.tensor_buffer[tensor]]
        return b.kind, b.offset


def _align(n: int) -> int:
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def plan_memory(
    num_ops: int,
    op_io: list[tuple[str, list[int], int]],
    sizes: dict[int, int],
    graph_input: int,
    graph_output: int,
) -> MemoryPlan:
    """Plan the arena.

    Parameters
    ----------
    num_ops
        Number of ops.
    op_io
        Per op: (kind, activation input tensor indices, output tensor index).
    sizes
        Byte size of every activation tensor.
    graph_input, graph_output
        Tensor indices of the model input and output (caller-owned buffers).
    """
    parent = {t: t for t in sizes}

    def find(t: int) -> int:
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    def members(root: int) -> set[int]:
        return {t for t in sizes if find(t) == root}

    copy_ops: set[int] = set()
    for i, (kind, inputs, output) in enumerate(op_io):
        if kind != "RESHAPE":
            continue
        a, b = find(inputs[0]), find(output)
        group = members(a) | members(b)
        if graph_input in group and graph_output in group:
            copy_ops.add(i)  # the caller's input and output are distinct buffers
            continue
        parent[b] = a

    roots: dict[int, list[int]] = {}
    for t in sizes:
        roots.setdefault(find(t), []).append(t)
    buffers: list[Buffer] = []
    tensor_buffer: dict[int, int] = {}
    for tensors in roots.values():
        tensors.sort()
        first, last = num_ops, -1
        for i, (_, inputs, output) in enumerate(op_io):
            if output in tensors:
                first = min(first, i)
                last = max(last, i)
            if any(t in tensors for t in inputs):
                first = min(first, i)
                last = max(last, i)
        if graph_input in tensors:
            kind, first = "input", -1
        elif graph_output in tensors:
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
    return MemoryPlan(buffers, tensor_buffer, arena_bytes, copy_ops)
