"""Atomic file writes: a reader never sees a half-written output, a failure leaves none.

Every output kws writes goes through a temp file in the destination folder, then
``os.replace`` onto the final name (atomic on POSIX within one filesystem).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np


def _default_mode() -> int:
    """File mode a plain ``open()`` would give (``mkstemp`` files are 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: str | os.PathLike[str], write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(f)`` on a temp file beside ``path``, then rename it over ``path``."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, _default_mode())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` atomically."""
    data = text.encode()
    return write_atomic(path, lambda f: f.write(data))


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    return write_text_atomic(path, json.dumps(obj, indent=2) + "\n")


def save_npy_atomic(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """``np.save`` atomically (``path`` is used as given, no ``.npy`` is appended)."""
    return write_atomic(path, lambda f: np.save(f, array))
