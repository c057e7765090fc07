"""C source for baked tables: the same constants the host passes to the C core through
cffi become ``static const`` arrays and ``const`` config structs in firmware.

Integers are written in decimal; float32 values as C99 hexadecimal literals, which round-
trip every bit.  Config structs use designated initializers, so they keep compiling when a
field is added to a header.  The ``emit_*`` functions return fragments; the caller puts them
into a file after the includes in :data:`MICRO_FRONTEND_INCLUDES` / ``MFCC_INCLUDES``, or
uses :func:`c_source` and :func:`write_c_file`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kws.features.c_structs import MFCC_CONFIG, MICRO_FRONTEND_CONFIG, ConfigStruct
from kws.features.micro_tables import MicroFrontendTables

if TYPE_CHECKING:
    from kws.features.mfcc_tables import MfccTables

MICRO_FRONTEND_INCLUDES = (MICRO_FRONTEND_CONFIG.header,)
MFCC_INCLUDES = (MFCC_CONFIG.header,)

# C scalar type -> (numpy dtype it holds, literal suffix).
C_SCALAR_TYPES: dict[str, tuple[np.dtype, str]] = {
    "int8_t": (np.dtype(np.int8), ""),
    "uint8_t": (np.dtype(np.uint8), "u"),
    "int16_t": (np.dtype(np.int16), ""),
    "uint16_t": (np.dtype(np.uint16), "u"),
    "int32_t": (np.dtype(np.int32), ""),
    "uint32_t": (np.dtype(np.uint32), "u"),
    "int64_t": (np.dtype(np.int64), "LL"),
    "uint64_t": (np.dtype(np.uint64), "uLL"),
    "float": (np.dtype(np.float32), "f"),
}
_DEFAULT_CTYPE = {dtype: ctype for ctype, (dtype, _) in C_SCALAR_TYPES.items()}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PER_LINE = 12


def _check_identifier(name: str) -> None:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{name!r} is not a C identifier")


def c_float(value: float | np.floating) -> str:
    """Exact C99 literal of a float32 value (hex significand, e.g. ``0x1.8p+1f``)."""
    v = float(np.float32(value))
    if not math.isfinite(v):
        raise ValueError(f"cannot bake non-finite float {v!r} into a C table")
    return f"{v.hex()}f"


def _literal(value: object, ctype: str) -> str:
    if ctype == "float":
        return c_float(value)  # type: ignore[arg-type]
    suffix = C_SCALAR_TYPES[ctype][1]
    ivalue = int(value)  # type: ignore[call-overload]
    # INT_MIN-style values cannot be written as a negated literal of their own type.
    if ctype == "int32_t" and ivalue == -(2**31):
        return "(-2147483647 - 1)"
    if ctype == "int64_t" and ivalue == -(2**63):
        return "(-9223372036854775807LL - 1)"
    return f"{ivalue}{suffix}"


def _join_wrapped(items: Sequence[str], indent: str, per_line: int = _PER_LINE) -> str:
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return (",\n" + indent).join(lines)


def emit_array(
    name: str,
    array: np.ndarray,
    ctype: str | None = None,
    *,
    static: bool = True,
    const: bool = True,
    align: int | None = None,
) -> str:
    """A C array definition holding ``array``.

    Parameters
    ----------
    name
        C identifier.
    array
        1-D or N-D numpy array.  With a scalar ``ctype`` an N-D array becomes an N-D C array;
        with a struct ``ctype`` (any type not in :data:`C_SCALAR_TYPES`, e.g.
        ``KwsComplexInt16``) the last axis lists the struct's fields in order.
    ctype
        C element type; inferred from the dtype when omitted (int16 -> ``int16_t`` ...).
    static, const
        Storage qualifiers (``static const`` by default: the table lives in flash).
    align
        Optional byte alignment (``__attribute__((aligned(n)))``).

    Raises
    ------
    ValueError
        Empty array, values that do not fit ``ctype``, non-finite floats, bad identifier.
    """
    _check_identifier(name)
    a = np.asarray(array)
    if a.size == 0:
        raise ValueError(f"{name}: cannot emit an empty C array")
    if ctype is None:
        if a.dtype not in _DEFAULT_CTYPE:
            raise ValueError(f"{name}: no default C type for dtype {a.dtype}")
        ctype = _DEFAULT_CTYPE[a.dtype]
    is_struct = ctype not in C_SCALAR_TYPES
    if is_struct:
        if a.ndim < 2:
            raise ValueError(f"{name}: a {ctype} array needs a trailing field axis")
        if not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"{name}: struct fields must be integers, got {a.dtype}")
        dims = a.shape[:-1]
        cells = [
            "{" + ", ".join(str(int(v)) for v in row) + "}" for row in a.reshape(-1, a.shape[-1])
        ]
    else:
        target = C_SCALAR_TYPES[ctype][0]
        if target.kind in "iu":
            if not np.issubdtype(a.dtype, np.integer):
                raise ValueError(f"{name}: {ctype} table needs integer values, got {a.dtype}")
            info = np.iinfo(target)
            if a.min() < info.min or a.max() > info.max:
                raise ValueError(f"{name}: values [{a.min()}, {a.max()}] do not fit {ctype}")
        elif a.dtype != np.float32:
            raise ValueError(f"{name}: float table must be float32, got {a.dtype}")
        dims = a.shape
        cells = [_literal(v, ctype) for v in a.reshape(-1).tolist()]
    qualifiers = ("static " if static else "") + ("const " if const else "")
    attribute = f" __attribute__((aligned({align})))" if align else ""
    shape = "".join(f"[{d}]" for d in dims)
    body = _nest(cells, tuple(dims), "    ")
    return f"{qualifiers}{ctype} {name}{shape}{attribute} = {{\n    {body}}};\n"


def _nest(cells: list[str], dims: tuple[int, ...], indent: str) -> str:
    """Initializer body with one brace level per inner dimension (no brace elision)."""
    if len(dims) <= 1:
        return _join_wrapped(cells, indent)
    step = len(cells) // dims[0]
    inner = indent + "    "
    rows = [
        "{\n" + inner + _nest(cells[i : i + step], dims[1:], inner) + "}"
        for i in range(0, len(cells), step)
    ]
    return (",\n" + indent).join(rows)


def _initializer(spec: ConfigStruct, tables: Any, name: str) -> str:
    """``{.window = {.size = 480, ...}, ...}`` with every field of ``spec``; pointer fields
    name the arrays :func:`emit_config` bakes."""
    lines = []
    for member, stage in spec.members:
        items = []
        for f in stage.fields:
            if f.is_pointer:
                value = f"{name}_{f.array_name}"
            elif f.ctype == "float":
                value = c_float(f.value(tables))
            else:
                value = str(f.value(tables))
            items.append(f".{f.name} = {value}")
        lines.append(_wrap_items(f"    .{member} = {{", items, "},"))
    return "{\n" + "".join(lines) + "}"


def _wrap_items(head: str, items: list[str], tail: str, width: int = 100) -> str:
    """``head`` + comma-separated ``items`` + ``tail``; continued lines are aligned under the
    first item and kept within ``width`` where the items allow."""
    pieces = [item + "," for item in items[:-1]] + [items[-1] + tail]
    lines = [head + pieces[0]]
    for piece in pieces[1:]:
        if len(lines[-1]) + 1 + len(piece) > width:
            lines.append(" " * len(head) + piece)
        else:
            lines[-1] += " " + piece
    return "\n".join(lines) + "\n"


def emit_config(
    spec: ConfigStruct, tables: Any, name: str, *, summary: str, static: bool = False
) -> str:
    """Baked tables plus ``const <spec.ctype> <name> = {...}``.

    ``spec`` is the config's one description (:mod:`kws.features.c_structs`) and ``tables``
    the very object the host hands the C core, so a firmware built from this source
    computes the same bits.  The array behind pointer field ``f`` is ``<name>_<f.array_name>``.
    """
    _check_identifier(name)
    arrays = spec.arrays(tables)
    parts = [f"/* {summary} */\n"] + [
        emit_array(f"{name}_{f.array_name}", arrays[f.array_name], f.pointee)
        for f in spec.pointer_fields()
    ]
    storage = "static " if static else ""
    parts.append(f"{storage}const {spec.ctype} {name} = {_initializer(spec, tables, name)};\n")
    return "\n".join(parts)


def emit_micro_frontend_config(
    tables: MicroFrontendTables, name: str, *, static: bool = False
) -> str:
    """Baked tables plus ``const KwsMicroFrontendConfig <name> = {...}``.

    ``tables`` comes from :func:`kws.features.micro.tables_for` (or
    :func:`kws.features.micro_tables.micro_frontend_tables`).  Arrays are named
    ``<name>_window``, ``<name>_twiddles`` ...  The fragment needs
    ``#include "micro_frontend/micro_frontend.h"`` (:data:`MICRO_FRONTEND_INCLUDES`).
    """
    t = tables
    summary = (f"Micro frontend: window {t.window_size}, step {t.window_step}, "
               f"FFT {t.fft_size}, {t.num_channels} channels, "
               f"PCAN {'on' if t.enable_pcan else 'off'}.")
    return emit_config(MICRO_FRONTEND_CONFIG, t, name, summary=summary, static=static)


def emit_mfcc_config(tables: MfccTables, name: str, *, static: bool = False) -> str:
    """Baked float32 tables plus ``const KwsMfccConfig <name> = {...}``.

    ``tables`` comes from :func:`kws.features.mfcc.mfcc_tables`.  Floats are written as exact
    hex literals, so the board multiplies by the very same float32 values.  Needs
    ``#include "mfcc/mfcc.h"`` (:data:`MFCC_INCLUDES`).
    """
    t = tables
    summary = (f"MFCC: window {t.window_size}, step {t.window_step}, FFT {t.fft_size}, "
               f"{t.num_mel_bins} mel bins, {t.num_mfcc} coefficients.")
    return emit_config(MFCC_CONFIG, t, name, summary=summary, static=static)


def _capacity(tables: Iterable[Any], channels: str, **more: str) -> dict[str, int]:
    """Each ``kws_config.h`` capacity macro as the largest table attribute it bounds."""
    ts = list(tables)
    if not ts:
        raise ValueError("need at least one set of tables")
    bounds = {"KWS_MAX_WINDOW_SIZE": "window_size", "KWS_MAX_FFT_SIZE": "fft_size",
              "KWS_MAX_CHANNELS": channels, **more}
    return {macro: max(int(getattr(t, attr)) for t in ts) for macro, attr in bounds.items()}


def mfcc_capacity(tables: Iterable[MfccTables]) -> dict[str, int]:
    """``kws_config.h`` capacity macros just large enough for these MFCC front ends."""
    return _capacity(tables, "num_mel_bins", KWS_MAX_MFCC="num_mfcc")


def merge_capacity(*capacities: dict[str, int]) -> dict[str, int]:
    """Element-wise maximum of capacity dicts (a firmware holding several front ends)."""
    out: dict[str, int] = {}
    for cap in capacities:
        for key, value in cap.items():
            out[key] = max(out.get(key, 0), int(value))
    return out


def emit_extern(name: str, ctype: str) -> str:
    """Header declaration of an emitted config: ``extern const KwsMfccConfig x;``."""
    _check_identifier(name)
    return f"extern const {ctype} {name};\n"


def micro_frontend_capacity(tables: Iterable[MicroFrontendTables]) -> dict[str, int]:
    """``kws_config.h`` capacity macros just large enough for these micro frontends.

    Pass the result as ``defines`` to :func:`kws.firmware_project.toolchain.build_elf` so the
    frontend state holds no unused RAM.
    """
    return _capacity(tables, "num_channels")


def c_source(includes: Iterable[str], fragments: Iterable[str], comment: str = "") -> str:
    """A complete C file: a header comment, ``#include "..."`` lines, then the fragments."""
    head = f"/* {comment} (generated by kws; do not edit) */\n" if comment else (
        "/* Generated by kws; do not edit. */\n"
    )
    inc = "".join(f'#include "{i}"\n' for i in includes)
    return head + "#include <stdint.h>\n" + inc + "\n" + "\n".join(fragments)


def write_c_file(path: str | os.PathLike, text: str) -> Path:
    """Write generated C atomically (temp file + ``os.replace``)."""
    from kws.fileio import write_text_atomic

    return write_text_atomic(path, text)
