"""Plumbing shared by the front ends' Python wrappers around the C core (cffi)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from kws._core import ffi


def c_array(ctype: str, array: np.ndarray) -> Any:
    """A ``const ctype*`` into ``array`` (the caller keeps ``array`` alive)."""
    return ffi.cast(f"const {ctype}*", ffi.from_buffer(array))


def as_int16_samples(samples: np.ndarray, what: str) -> np.ndarray:
    """Contiguous 1-D int16 samples; integer input in range is accepted, anything else raises."""
    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError(f"{what} expects mono 1-D samples, got shape {x.shape}")
    if x.dtype == np.int16:
        return np.ascontiguousarray(x)
    if not np.issubdtype(x.dtype, np.integer):
        raise ValueError(f"{what} expects int16 samples, got dtype {x.dtype}")
    if x.size and (x.min() < -32768 or x.max() > 32767):
        raise ValueError(f"{what} expects int16 samples, got values outside -32768..32767")
    return np.ascontiguousarray(x, dtype=np.int16)


def stream_frames(
    process_all: Callable[..., int],
    state: Any,
    samples: np.ndarray,
    *,
    window_size: int,
    window_step: int,
    width: int,
    dtype: type[np.generic],
    out_ctype: str,
    what: str,
) -> np.ndarray:
    """Feed ``samples`` to a C ``*_process_all`` and return the completed frames ``[n, width]``."""
    x = as_int16_samples(samples, what)
    max_frames = (len(x) + window_size) // window_step + 1
    out = np.zeros((max_frames, width), dtype=dtype)
    n = process_all(state, c_array("int16_t", x), len(x),
                    ffi.cast(f"{out_ctype}*", ffi.from_buffer(out)), max_frames)
    return out[:n]
