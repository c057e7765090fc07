"""The ``native`` engine: generated model C + kernels built for the host, called via ctypes.

The shared library is cached by a hash of everything that goes into it (generated sources,
kernel sources, compiler and flags) under ``$KWS_CACHE_DIR/native`` (default
``~/.cache/kws/native``), so a model is compiled once.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from kws.deploy.compiler import CompiledModel, compile_model
from kws.errors import KwsError
from kws.paths import firmware_dir

CORE_DIR = firmware_dir() / "core"
CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-fPIC",
          "-shared"]


def cache_root() -> Path:
    """Where compiled libraries are kept (``$KWS_CACHE_DIR/native`` or ``~/.cache/kws``)."""
    base = os.environ.get("KWS_CACHE_DIR")
    return (Path(base) if base else Path.home() / ".cache" / "kws") / "native"


def kernel_sources() -> list[Path]:
    """The kernel C files every generated model links against."""
    kernels = CORE_DIR / "kernels"
    if not kernels.is_dir():
        raise KwsError(f"{kernels}: kernel sources not found (kws must run from a source "
                       "checkout)")
    return sorted(kernels.glob("*.c"))


def _compiler() -> str:
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise KwsError("no C compiler found for the native engine (install gcc: "
                       "sudo apt-get install gcc)")
    return cc


def build_shared_library(compiled: CompiledModel, cache_dir: Path | None = None) -> Path:
    """Compile ``compiled``'s C module and the kernels into a cached shared library."""
    cc = _compiler()
    sources = [Path(compiled.files["source"]), Path(compiled.files["weights_source"])]
    headers = [Path(compiled.files["header"]), Path(compiled.files["weights_header"])]
    kernels = kernel_sources()
    digest = hashlib.sha256()
    digest.update(json.dumps([cc, CFLAGS]).encode())
    for path in sources + headers + kernels + sorted((CORE_DIR / "kernels").glob("*.h")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    key = digest.hexdigest()[:24]
    root = cache_dir or cache_root()
    lib_path = root / key / f"lib{compiled.name}.so"
    if lib_path.exists():
        return lib_path
    lib_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=lib_path.parent, suffix=".so.tmp")
    os.close(fd)
    cmd = [cc, *CFLAGS, f"-I{CORE_DIR}", f"-I{Path(compiled.files['header']).parent}",
           "-o", tmp, *map(str, sources), *map(str, kernels)]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise KwsError(f"{compiled.files['source']}: host C compile failed: "
                           f"{result.stderr.strip()[:2000]}")
        os.replace(tmp, lib_path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return lib_path


@dataclass
class NativeModel:
    """A compiled model loaded into this process."""

    compiled: CompiledModel
    library_path: Path
    _invoke: ctypes._CFuncPtr  # type: ignore[name-defined]

    def invoke(self, x: np.ndarray) -> np.ndarray:
        """Run one inference on an int8 array with the model's input size."""
        x = np.ascontiguousarray(x, dtype=np.int8)
        if x.size != self.compiled.input_size:
            raise KwsError(f"native: input has {x.size} values, model "
                           f"{self.compiled.tflite_path} needs {self.compiled.input_size}")
        out = np.empty(self.compiled.output_shape, np.int8)
        self._invoke(x.ctypes.data_as(ctypes.c_void_p), out.ctypes.data_as(ctypes.c_void_p))
        return out


def _model_key(tflite_path: Path) -> str:
    return hashlib.sha256(tflite_path.read_bytes()).hexdigest()[:24]


@lru_cache(maxsize=16)
def _load_cached(model_key: str, tflite_path: str) -> NativeModel:
    with tempfile.TemporaryDirectory(prefix="kws-native-") as tmp:
        compiled = compile_model(tflite_path, tmp, name="model")
        lib_path = build_shared_library(compiled)
    compiled.files = {}  # the generated sources were temporary; the library is cached
    lib = ctypes.CDLL(str(lib_path))
    invoke = lib.kws_model_invoke
    invoke.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    invoke.restype = None
    return NativeModel(compiled, lib_path, invoke)


def load_native(tflite_path: str | Path) -> NativeModel:
    """Compile (or reuse) the native build of ``tflite_path`` and load it.

    Loaded libraries are memoised per model content, so repeated calls are free.
    """
    path = Path(tflite_path)
    if not path.is_file():
        raise KwsError(f"{path}: model file not found")
    return _load_cached(_model_key(path), str(path))
