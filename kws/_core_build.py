"""cffi build script for ``kws._core``: the firmware C core compiled for the host.

Every C file under ``firmware/core`` is compiled into the extension, so Python computes
features (and, later, runs models) with exactly the code that runs on the board.
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

# The config structs come from their one description (c_structs.py); the rest by hand.
MICRO_FRONTEND_CDEF = r"""
typedef struct { ...; } KwsMicroFrontendState;

int kws_micro_frontend_init(KwsMicroFrontendState* state, const KwsMicroFrontendConfig* config);
void kws_micro_frontend_reset(KwsMicroFrontendState* state);
int kws_micro_frontend_process(KwsMicroFrontendState* state, const int16_t* samples,
                               size_t num_samples, size_t* num_samples_read, uint16_t* out);
size_t kws_micro_frontend_process_all(KwsMicroFrontendState* state, const int16_t* samples,
                                      size_t num_samples, uint16_t* out, size_t max_frames);
"""

# Extra declarations contributed by other parts of the core (MFCC, kernels) are appended
# from files named *.cdef next to their headers, keeping this script stable.
EXTRA_CDEFS = sorted(CORE.rglob("*.cdef"))

HEADERS = [C_STRUCTS.MICRO_FRONTEND_CONFIG.header] + [
    p.with_suffix(".h").relative_to(CORE).as_posix() for p in EXTRA_CDEFS
]

ffibuilder = FFI()
ffibuilder.cdef(
    "typedef struct { int16_t real; int16_t imag; } KwsComplexInt16;\n"
    + C_STRUCTS.MICRO_FRONTEND_CONFIG.cdef()
    + MICRO_FRONTEND_CDEF
    + C_STRUCTS.MFCC_CONFIG.cdef()
    + "\n".join(p.read_text() for p in EXTRA_CDEFS)
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
