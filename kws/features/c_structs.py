"""The C config structs of the front ends, described once.

Each front end's C config (``KwsMicroFrontendConfig``, ``KwsMfccConfig``) is a struct of
per-stage structs.  ``firmware/core/config_structs.json``, beside the headers, lists every
field: its C type, its C name, and the attribute of the host tables
(:class:`~kws.features.micro_tables.MicroFrontendTables`,
:class:`~kws.features.mfcc_tables.MfccTables`) its value comes from.  This module reads it
into :data:`MICRO_FRONTEND_CONFIG` and :data:`MFCC_CONFIG`, from which come

- the cffi declarations (:meth:`ConfigStruct.cdef`, used by ``kws/_core_build.py``),
- the cffi config the host passes to the C core (``kws.features._stream.new_c_config``),
- the ``const`` config a firmware bakes (``kws.firmware_project.emit_c.emit_config``),

and ``tests/test_c_structs.py`` checks them against the C headers.

Only the standard library is imported here: the cffi build script loads this file before
``kws._core`` (and numpy, in an isolated build) exists.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Field:
    """One field of a stage config: ``<ctype> <name>;`` holding ``tables.<source>``.

    A pointer field (``const T*``) points to the table array ``tables.<source>``; a baked
    firmware stores that array as ``<config name>_<array>`` (``array`` defaults to ``source``).
    """

    ctype: str
    name: str
    source: str
    array: str = ""

    @property
    def is_pointer(self) -> bool:
        return self.ctype.endswith("*")

    @property
    def pointee(self) -> str:
        """Element type of a pointer field (``"const int16_t*"`` -> ``"int16_t"``)."""
        return self.ctype.removeprefix("const ").removesuffix("*").strip()

    @property
    def array_name(self) -> str:
        return self.array or self.source

    def value(self, tables: Any) -> int | float:
        """A scalar field's value from ``tables`` (a bool becomes 0/1)."""
        value = getattr(tables, self.source)
        return float(value) if self.ctype == "float" else int(value)


@dataclass(frozen=True)
class StageStruct:
    """A per-stage config struct (``KwsWindowConfig`` ...) and the header defining it."""

    ctype: str
    header: str  # relative to firmware/core
    fields: tuple[Field, ...]

    def cdef(self) -> str:
        body = " ".join(f"{f.ctype} {f.name};" for f in self.fields)
        return f"typedef struct {{ {body} }} {self.ctype};"


@dataclass(frozen=True)
class ConfigStruct:
    """A front end's whole config: one member per stage, in the C struct's order."""

    ctype: str
    header: str  # relative to firmware/core
    members: tuple[tuple[str, StageStruct], ...]

    def fields(self) -> Iterator[tuple[str, Field]]:
        """``(member, field)`` for every leaf field, in declaration order."""
        for member, stage in self.members:
            for f in stage.fields:
                yield member, f

    def pointer_fields(self) -> list[Field]:
        """Pointer fields, one per distinct table array, in declaration order."""
        seen: dict[str, Field] = {}
        for _, f in self.fields():
            if f.is_pointer:
                seen.setdefault(f.array_name, f)
        return list(seen.values())

    def arrays(self, tables: Any) -> dict[str, Any]:
        """The numpy arrays the pointer fields point to, by :attr:`Field.array_name`.

        Each is contiguous, of the pointee's dtype, and flat, except that a struct pointee
        (``KwsComplexInt16``) keeps a trailing axis of its fields.  An empty array becomes
        one zero: C still needs a valid pointer, though it reads nothing there.
        """
        import numpy as np  # here, not at the top: the cffi build script has no numpy

        out = {}
        for f in self.pointer_fields():
            dtype = np.float32 if f.pointee == "float" else np.int16
            a = np.asarray(getattr(tables, f.source), dtype=dtype)
            if f.pointee in ("int16_t", "float"):
                a = a.reshape(-1)
            out[f.array_name] = np.ascontiguousarray(a if a.size else np.zeros(1, dtype))
        return out

    def cdef(self) -> str:
        """cffi declarations of the stage structs and of this struct."""
        body = " ".join(f"{stage.ctype} {member};" for member, stage in self.members)
        stages = [stage.cdef() for _, stage in self.members]
        return "\n".join([*stages, f"typedef struct {{ {body} }} {self.ctype};"]) + "\n"


if __name__ == "kws.features.c_structs":
    from kws.paths import firmware_dir

    CORE_DIR = firmware_dir() / "core"
else:  # loaded by path from kws/_core_build.py, which builds from the checkout's firmware/
    CORE_DIR = Path(__file__).resolve().parents[2] / "firmware" / "core"
DESCRIPTION_FILE = CORE_DIR / "config_structs.json"


def load_config_structs(path: Path = DESCRIPTION_FILE) -> dict[str, ConfigStruct]:
    """Every config struct described in ``path`` (``firmware/core/config_structs.json``)."""
    described = json.loads(path.read_text())
    return {
        ctype: ConfigStruct(ctype, entry["header"], tuple(
            (member, StageStruct(stage["struct"], stage["header"],
                                 tuple(Field(*row) for row in stage["fields"])))
            for member, stage in entry["members"].items()
        ))
        for ctype, entry in described.items()
        if not ctype.startswith("_")
    }


_DESCRIBED = load_config_structs()
MICRO_FRONTEND_CONFIG = _DESCRIBED["KwsMicroFrontendConfig"]
MFCC_CONFIG = _DESCRIBED["KwsMfccConfig"]
CONFIG_STRUCTS = (MICRO_FRONTEND_CONFIG, MFCC_CONFIG)
