"""Plumbing shared by the front ends' Python wrappers around the C core (cffi)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from kws._core import ffi, lib
from kws.features.c_structs import ConfigStruct

_OUT_CTYPES = {np.dtype(np.uint16): "uint16_t", np.dtype(np.float32): "float"}


def c_array(ctype: str, array: np.ndarray) -> Any:
    """A ``const ctype*`` into ``array`` (the caller keeps ``array`` alive)."""
    return ffi.cast(f"const {ctype}*", ffi.from_buffer(array))


def new_c_config(spec: ConfigStruct, tables: Any) -> tuple[Any, list[np.ndarray]]:
    """A cffi ``spec.ctype`` filled from ``tables``, and the arrays it points into (keep
    them alive as long as the config)."""
    arrays = spec.arrays(tables)
    config = ffi.new(f"{spec.ctype}*")
    for member, field in spec.fields():
        if field.is_pointer:
            value = c_array(field.pointee, arrays[field.array_name])
        else:
            value = field.value(tables)
        setattr(getattr(config, member), field.name, value)
    return config, list(arrays.values())


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


class CoreFrontend:
    """A streaming front end in the C core: feed int16 samples, get ``[frames, width]``.

    Holds the C state and the tables its config points into; one instance per audio
    stream.  Frames start every ``window_step`` samples while a whole window fits, so
    feeding a clip in any chunking gives the same bits as one call.  Subclasses name the
    C config (:attr:`c_config`), state type, function prefix and output dtype.
    """

    c_config: ClassVar[ConfigStruct]
    c_state: ClassVar[str]  # e.g. "KwsMfccState"
    c_prefix: ClassVar[str]  # e.g. "kws_mfcc": <prefix>_init, _reset, _process_all
    out_dtype: ClassVar[type[np.generic]]

    def __init__(self, config: Any, tables: Any) -> None:
        self.config = config
        self.tables = tables
        self.width: int = config.num_features
        self._cfg, self._keep = new_c_config(self.c_config, tables)
        self._state = ffi.new(f"{self.c_state}*")
        if not getattr(lib, f"{self.c_prefix}_init")(self._state, self._cfg):
            raise ValueError(f"{config.what} config rejected by the C core (over its "
                             f"capacity?): {config}")

    def reset(self) -> None:
        """Start a new stream (forgets buffered audio and any noise estimate)."""
        getattr(lib, f"{self.c_prefix}_reset")(self._state)

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Stream int16 ``samples`` in; return the frames completed, ``[n, width]``."""
        x = as_int16_samples(samples, self.config.what)
        max_frames = (len(x) + self.tables.window_size) // self.tables.window_step + 1
        out = np.zeros((max_frames, self.width), dtype=self.out_dtype)
        out_ctype = _OUT_CTYPES[out.dtype]
        n = getattr(lib, f"{self.c_prefix}_process_all")(
            self._state, c_array("int16_t", x), len(x),
            ffi.cast(f"{out_ctype}*", ffi.from_buffer(out)), max_frames)
        return out[:n]
