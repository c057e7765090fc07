"""cffi build script for ``kws._core``: the firmware C core compiled for the host.

Every C file under ``firmware/core`` is compiled into the extension, so Python computes
features (and, later, runs models) with exactly the code that runs on the board.  The
config structs are declared from their one description (``firmware/core/config_structs.json``
through ``kws/features/c_structs.py``); cffi checks each declared field against the compiled
struct.  Functions and opaque state types come from the ``*.cdef`` file next to each header.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from cffi import FFI

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "firmware" / "core"


def _load_c_structs() -> ModuleType:
    """``kws/features/c_structs.py``, by path: importing it through the package would import
    ``kws._core``, the extension this script builds."""
    path = ROOT / "kws" / "features" / "c_structs.py"
    spec = importlib.util.spec_from_file_location("kws_c_structs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


C_STRUCTS = _load_c_structs()
CDEFS = sorted(CORE.rglob("*.cdef"))
HEADERS = [p.with_suffix(".h").relative_to(CORE).as_posix() for p in CDEFS]

ffibuilder = FFI()
ffibuilder.cdef(
    "typedef struct { int16_t real; int16_t imag; } KwsComplexInt16;\n"
    + "".join(spec.cdef() for spec in C_STRUCTS.CONFIG_STRUCTS)
    + "\n".join(p.read_text() for p in CDEFS)
)
ffibuilder.set_source(
    "kws._core",
    "\n".join(f'#include "{h}"' for h in HEADERS),
    sources=sorted(p.relative_to(ROOT).as_posix() for p in CORE.rglob("*.c")),
    include_dirs=[CORE.relative_to(ROOT).as_posix()],
    # Same strictness as the ARM build; no FMA contraction so float code rounds the same
    # on every target.
    extra_compile_args=["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
