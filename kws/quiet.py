"""Quiet start-up: hide TensorFlow's and its relatives' log lines from CLI users.

TensorFlow, tflite-micro and LiteRT print native log lines when their shared libraries load
(the oneDNN notice, "Could not find cuda drivers", absl's "log messages before
absl::InitializeLog()"), whatever ``TF_CPP_MIN_LOG_LEVEL`` says; later native lines do obey
it.  :func:`quiet_startup` sets that level, silences file descriptor 2 while those packages
are first imported, and mutes their Python loggers and warnings.  The ``kws`` CLI calls it
unless ``--verbose`` is given.  The TFLite converter prints a ``fully_quantize: 0, ...``
status line on every conversion, also outside any log level; :func:`native_stderr_filtered`
drops such known lines and lets the rest through.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

# Top-level packages whose first import loads TensorFlow's native libraries.
NATIVE_PACKAGES = ("tensorflow", "keras", "tflite_micro", "ai_edge_litert")
# Libraries whose Python log records below ERROR and whose warnings are noise for a CLI user.
NOISY_LIBRARIES = (*NATIVE_PACKAGES, "absl", "h5py")


@contextlib.contextmanager
def _stderr_fd_to(target: int) -> Iterator[None]:
    """File descriptor 2 (C/C++ code included) points at ``target`` for the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        os.dup2(target, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send whatever is written to file descriptor 2 (C/C++ code included) to the null
    device for the duration of the block."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        with _stderr_fd_to(devnull):
            yield
    finally:
        os.close(devnull)


@contextlib.contextmanager
def native_stderr_filtered(noise: tuple[bytes, ...]) -> Iterator[None]:
    """Hold back what is written to file descriptor 2 during the block, then write it out
    without the lines that start with one of ``noise`` (leading spaces ignored).

    For native code that prints a fixed status line on every call whatever
    ``TF_CPP_MIN_LOG_LEVEL`` says: its other output, errors included, still appears (after
    the block, also when the block raises).
    """
    with tempfile.TemporaryFile() as held:
        try:
            with _stderr_fd_to(held.fileno()):
                yield
        finally:
            held.seek(0)
            kept = [line for line in held.read().splitlines(keepends=True)
                    if not line.lstrip().startswith(noise)]
            if kept:
                sys.stderr.flush()
                os.write(2, b"".join(kept))


class _SilentLoader(importlib.abc.Loader):
    """Runs another loader with :func:`native_stderr_silenced`."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        with native_stderr_silenced():
            self._loader.exec_module(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class _SilentFirstImport(importlib.abc.MetaPathFinder):
    """Finds the :data:`NATIVE_PACKAGES` on ``sys.path`` and loads each, once, silently."""

    def __init__(self) -> None:
        self.pending = {name for name in NATIVE_PACKAGES if name not in sys.modules}

    def find_spec(self, fullname: str, path: Any = None, target: ModuleType | None = None
                  ) -> ModuleSpec | None:
        if fullname not in self.pending:
            return None
        self.pending.discard(fullname)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _SilentLoader(spec.loader)
        return spec


def quiet_startup() -> None:
    """Hide the start-up and library log lines described in the module docstring (idempotent;
    an explicit ``TF_CPP_MIN_LOG_LEVEL`` in the environment is kept)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if not any(isinstance(f, _SilentFirstImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _SilentFirstImport())
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=rf"({'|'.join(NOISY_LIBRARIES)})(\.|$)")
