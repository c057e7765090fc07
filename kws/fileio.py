"""Atomic file writes: a reader never sees a half-written output, a failure leaves none.

Every output kws writes goes through a temp file in the destination folder, then
``os.replace`` onto the final name (atomic on POSIX within one filesystem).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

import numpy as np

from kws.errors import KwsError


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


# Room for any 2-D shape's header: magic (6) + version (2) + length (2) + dict, padded.
_NPY_HEADER_BYTES = 128


def _npy_header(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    """A version 1.0 ``.npy`` header of exactly ``_NPY_HEADER_BYTES`` bytes."""
    fields = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
              "shape": shape}
    body = repr(fields).encode("latin1")
    size = _NPY_HEADER_BYTES - 10
    if len(body) >= size:
        raise ValueError(f"npy header for shape {shape} does not fit in {size} bytes")
    return b"\x93NUMPY\x01\x00" + size.to_bytes(2, "little") + body.ljust(size - 1) + b"\n"


def save_npy_rows_atomic(
    path: str | os.PathLike[str], rows: Iterable[np.ndarray], dtype: type[np.generic], width: int
) -> int:
    """Write blocks of rows ``[n, width]`` as one ``.npy`` array without holding them all.

    The header is rewritten with the final row count once ``rows`` is exhausted; an error
    from ``rows`` leaves no output (the temp file is removed).

    Returns
    -------
    int
        Rows written.
    """
    dt = np.dtype(dtype)
    count = 0

    def write(f: IO[bytes]) -> None:
        nonlocal count
        f.write(_npy_header(dt, (0, width)))
        for block in rows:
            array = np.ascontiguousarray(block, dtype=dt).reshape(-1, width)
            f.write(array.tobytes())
            count += len(array)
        f.seek(0)
        f.write(_npy_header(dt, (count, width)))

    write_atomic(path, write)
    return count


def check_output_dir(path: str | os.PathLike[str], markers: str | tuple[str, ...], *,
                     force: bool = False, what: str = "directory") -> Path:
    """Refuse to write over a folder that holds something kws did not write there.

    ``path`` may be absent, empty, or an earlier output of the same command (it holds one of
    the ``markers``, e.g. ``project.json`` of a ``kws deploy`` project); anything else is
    refused with one line unless ``force`` (``--force``) is given.  A file at ``path`` is
    always refused ("is a file, not a ``what``").

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.
    """
    out = Path(path)
    names = (markers,) if isinstance(markers, str) else markers
    if out.exists() and not out.is_dir():
        raise KwsError(f"{out}: is a file, not a {what}")
    if (force or not out.exists() or any((out / name).is_file() for name in names)
            or not any(out.iterdir())):
        return out
    raise KwsError(f"{out}: holds files kws did not write (no {' or '.join(names)}); choose "
                   f"another folder, or pass --force to replace it")
