"""Structural check of a ``.tflite`` flatbuffer before anything reads it.

The generated readers of the ``tflite`` package (and tflite-micro's C++ loader, which runs no
flatbuffer verifier) trust every offset in the file: a truncated or bit-flipped model makes
them raise assorted errors or read outside the model.  :func:`check_flatbuffer` walks every
table, vector and string the loaders touch (the schema's Model, SubGraph, Tensor, Operator,
Buffer, ... tables, field by field) and checks that each lies inside the file, the way
``flatbuffers::Verifier`` does, so later readers only meet well-formed data.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# A table spec maps field index -> (field name, kind, ...): ("scalar", bytes), ("string",),
# ("vector", element bytes), ("tables", spec), ("table", spec),
# ("union", type field index, {union type: spec}).
FieldSpec = tuple
TableSpec = dict[int, FieldSpec]

# Everything tables and vectors may add up to: a corrupt file cannot make the walk loop long.
_MAX_TABLES = 1_000_000


class FlatbufferError(ValueError):
    """The bytes are not a well-formed flatbuffer (the message says where)."""


def _scalar(name: str, size: int) -> FieldSpec:
    return (name, "scalar", size)


def _string(name: str) -> FieldSpec:
    return (name, "string")


def _i32s(name: str) -> FieldSpec:
    return (name, "vector", 4)


_TENSOR_MAP: TableSpec = {0: _string("name"), 1: _scalar("tensor_index", 4)}
_VARIANT_SUBTYPE: TableSpec = {0: _i32s("shape"), 1: _scalar("type", 1),
                               2: _scalar("has_rank", 1)}
_QUANTIZATION: TableSpec = {
    0: ("min", "vector", 4), 1: ("max", "vector", 4), 2: ("scale", "vector", 4),
    3: ("zero_point", "vector", 8), 4: _scalar("details_type", 1),
    5: ("details", "union", 4, {}), 6: _scalar("quantized_dimension", 4),
}
_TENSOR: TableSpec = {
    0: _i32s("shape"), 1: _scalar("type", 1), 2: _scalar("buffer", 4), 3: _string("name"),
    4: ("quantization", "table", _QUANTIZATION), 5: _scalar("is_variable", 1),
    6: ("sparsity", "table", {}), 7: _i32s("shape_signature"), 8: _scalar("has_rank", 1),
    9: ("variant_tensors", "tables", _VARIANT_SUBTYPE),
}
_OPERATOR_CODE: TableSpec = {0: _scalar("deprecated_builtin_code", 1),
                             1: _string("custom_code"), 2: _scalar("version", 4),
                             3: _scalar("builtin_code", 4)}
_BUFFER: TableSpec = {0: ("data", "vector", 1), 1: _scalar("offset", 8),
                      2: _scalar("size", 8)}
_METADATA: TableSpec = {0: _string("name"), 1: _scalar("buffer", 4)}
_SIGNATURE_DEF: TableSpec = {0: ("inputs", "tables", _TENSOR_MAP),
                             1: ("outputs", "tables", _TENSOR_MAP),
                             2: _string("signature_key"), 3: _string("deprecated_tag"),
                             4: _scalar("subgraph_index", 4)}


def _builtin_options() -> dict[int, TableSpec]:
    """Option tables with offsets inside; every other options table holds only scalars."""
    import tflite

    return {tflite.BuiltinOptions.ReshapeOptions: {0: _i32s("new_shape")},
            tflite.BuiltinOptions.SqueezeOptions: {0: _i32s("squeeze_dims")}}


def _operator(options: dict[int, TableSpec]) -> TableSpec:
    return {
        0: _scalar("opcode_index", 4), 1: _i32s("inputs"), 2: _i32s("outputs"),
        3: _scalar("builtin_options_type", 1), 4: ("builtin_options", "union", 3, options),
        5: ("custom_options", "vector", 1), 6: _scalar("custom_options_format", 1),
        7: ("mutating_variable_inputs", "vector", 1), 8: _i32s("intermediates"),
        9: _scalar("large_custom_options_offset", 8),
        10: _scalar("large_custom_options_size", 8), 11: _scalar("builtin_options_2_type", 1),
        12: ("builtin_options_2", "union", 11, {}), 13: _scalar("debug_metadata_index", 4),
    }


def _model_spec() -> TableSpec:
    subgraph: TableSpec = {0: ("tensors", "tables", _TENSOR), 1: _i32s("inputs"),
                           2: _i32s("outputs"),
                           3: ("operators", "tables", _operator(_builtin_options())),
                           4: _string("name"), 5: _scalar("debug_metadata_index", 4)}
    return {
        0: _scalar("version", 4), 1: ("operator_codes", "tables", _OPERATOR_CODE),
        2: ("subgraphs", "tables", subgraph), 3: _string("description"),
        4: ("buffers", "tables", _BUFFER), 5: _i32s("metadata_buffer"),
        6: ("metadata", "tables", _METADATA), 7: ("signature_defs", "tables", _SIGNATURE_DEF),
    }


@dataclass
class _Walker:
    buf: bytes
    tables: int = 0

    def _get(self, fmt: str, pos: int, what: str) -> int:
        size = struct.calcsize(fmt)
        if pos < 0 or pos + size > len(self.buf):
            raise FlatbufferError(f"{what} at byte {pos} lies outside the {len(self.buf)}-byte "
                                  "file")
        return struct.unpack_from(fmt, self.buf, pos)[0]

    def _span(self, start: int, size: int, what: str) -> None:
        if start < 0 or size < 0 or start + size > len(self.buf):
            raise FlatbufferError(f"{what} (bytes {start}..{start + size}) lies outside the "
                                  f"{len(self.buf)}-byte file")

    def _follow(self, pos: int, what: str) -> int:
        return pos + self._get("<I", pos, f"offset to {what}")

    def _vector(self, pos: int, element: int, what: str) -> tuple[int, int]:
        start = self._follow(pos, what)
        length = self._get("<I", start, f"length of {what}")
        self._span(start + 4, length * element, what)
        return start + 4, length

    def table(self, pos: int, spec: TableSpec, what: str) -> None:
        """Check the table at ``pos`` and, recursively, everything its ``spec`` fields hold."""
        self.tables += 1
        if self.tables > _MAX_TABLES:
            raise FlatbufferError(f"more than {_MAX_TABLES} tables (corrupt offsets)")
        vtable = pos - self._get("<i", pos, what)
        vsize = self._get("<H", vtable, f"vtable of {what}")
        tsize = self._get("<H", vtable + 2, f"vtable of {what}")
        if vsize < 4 or vsize % 2 or tsize < 4:
            raise FlatbufferError(f"{what}: malformed vtable at byte {vtable}")
        self._span(vtable, vsize, f"vtable of {what}")
        self._span(pos, tsize, what)
        offsets = struct.unpack_from(f"<{(vsize - 4) // 2}H", self.buf, vtable + 4)
        for index, offset in enumerate(offsets):
            field = spec.get(index, (f"field {index}", "scalar", 1))
            size = field[2] if field[1] == "scalar" else 4
            if offset and (offset < 4 or offset + size > tsize):
                raise FlatbufferError(f"{what}: {field[0]} lies outside its table")
        for index, field in spec.items():
            if index < len(offsets) and offsets[index]:
                self._field(pos, offsets, index, field[1:], f"{what} {field[0]}")

    def _field(self, pos: int, offsets: tuple[int, ...], index: int, field: FieldSpec,
               what: str) -> None:
        at = pos + offsets[index]
        kind = field[0]
        if kind == "string":
            start, length = self._vector(at, 1, what)
            self._span(start, length + 1, f"{what} (with its terminator)")
        elif kind == "vector":
            self._vector(at, field[1], what)
        elif kind == "table":
            self.table(self._follow(at, what), field[1], what)
        elif kind == "tables":
            start, length = self._vector(at, 4, what)
            for j in range(length):
                self.table(self._follow(start + 4 * j, what), field[1], f"{what}[{j}]")
        elif kind == "union":
            type_offset = offsets[field[1]] if field[1] < len(offsets) else 0
            union_type = self.buf[pos + type_offset] if type_offset else 0
            self.table(self._follow(at, what), field[2].get(union_type, {}), what)


def check_flatbuffer(buf: bytes) -> None:
    """Raise :class:`FlatbufferError` unless every table, vector and string a ``.tflite``
    loader reads lies inside ``buf`` (which must start with the root offset and ``TFL3``)."""
    walker = _Walker(bytes(buf))
    walker.table(walker._follow(0, "the model table"), _model_spec(), "model")
