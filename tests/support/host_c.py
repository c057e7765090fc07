"""Compile firmware C for the host into an importable cffi module."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off"]


def compile_cffi(name: str, cdef: str, header: str, sources: Sequence[Path],
                 include_dirs: Sequence[Path], tmpdir: Path, opt: str = "-O2") -> ModuleType:
    """``sources`` built with the host gcc (strict C99) into module ``name`` (``ffi``, ``lib``).

    ``cdef`` declares what Python sees; ``header`` is the one include the glue needs.
    """
    from cffi import FFI

    ffi = FFI()
    ffi.cdef(cdef)
    ffi.set_source(name, f'#include "{header}"', sources=[str(s) for s in sources],
                   include_dirs=[str(i) for i in include_dirs],
                   extra_compile_args=[*STRICT, opt])
    lib_path = ffi.compile(tmpdir=str(tmpdir), verbose=False)
    spec = importlib.util.spec_from_file_location(name, lib_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
