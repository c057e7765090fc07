"""The C config structs of the front ends, described once.

Each front end's C config (``KwsMicroFrontendConfig``, ``KwsMfccConfig``) is a struct of
per-stage structs.  :data:`MICRO_FRONTEND_CONFIG` and :data:`MFCC_CONFIG` list every field:
its C name, its C type, and the attribute of the host tables
(:class:`~kws.features.micro_tables.MicroFrontendTables`,
:class:`~kws.features.mfcc_tables.MfccTables`) its value comes from.  From these lists come

- the cffi declarations (:meth:`ConfigStruct.cdef`, used by ``kws/_core_build.py``),
- the cffi config the host passes to the C core (``kws.features._stream.new_c_config``),
- the ``const`` config a firmware bakes (``kws.firmware.emit_c.emit_config``),

and ``tests/test_c_structs.py`` checks them against the C headers.

Only the standard library is imported here: the cffi build script loads this file before
``kws._core`` (and numpy, in an isolated build) exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Field:
    """One field of a stage config: ``<ctype> <name>;`` holding ``tables.<source>``.

    A pointer field (``const T*``) points to the table array ``tables.<source>``; a baked
    firmware stores that array as ``<config name>_<array>`` (``array`` defaults to ``source``).
    """

    name: str
    ctype: str
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


def _stage(ctype: str, header: str, *fields: Field) -> StageStruct:
    return StageStruct(ctype, header, fields)


MICRO_FRONTEND_CONFIG = ConfigStruct(
    "KwsMicroFrontendConfig",
    "micro_frontend/micro_frontend.h",
    (
        ("window", _stage(
            "KwsWindowConfig", "micro_frontend/window.h",
            Field("size", "int", "window_size"),
            Field("step", "int", "window_step"),
            Field("coefficients", "const int16_t*", "window"),
        )),
        ("fft", _stage(
            "KwsFftConfig", "micro_frontend/fft.h",
            Field("input_size", "int", "window_size"),
            Field("fft_size", "int", "fft_size"),
            Field("twiddles", "const KwsComplexInt16*", "twiddles"),
            Field("super_twiddles", "const KwsComplexInt16*", "super_twiddles"),
        )),
        ("filterbank", _stage(
            "KwsFilterbankConfig", "micro_frontend/filterbank.h",
            Field("num_channels", "int", "num_channels"),
            Field("start_index", "int", "start_index"),
            Field("end_index", "int", "end_index"),
            Field("channel_frequency_starts", "const int16_t*", "channel_frequency_starts"),
            Field("channel_weight_starts", "const int16_t*", "channel_weight_starts"),
            Field("channel_widths", "const int16_t*", "channel_widths"),
            Field("weights", "const int16_t*", "weights"),
            Field("unweights", "const int16_t*", "unweights"),
        )),
        ("noise_reduction", _stage(
            "KwsNoiseReductionConfig", "micro_frontend/noise_reduction.h",
            Field("num_channels", "int", "num_channels"),
            Field("smoothing_bits", "int", "smoothing_bits"),
            Field("even_smoothing", "uint16_t", "even_smoothing"),
            Field("odd_smoothing", "uint16_t", "odd_smoothing"),
            Field("min_signal_remaining", "uint16_t", "min_signal_remaining"),
        )),
        ("pcan", _stage(
            "KwsPcanConfig", "micro_frontend/pcan_gain_control.h",
            Field("enable_pcan", "int", "enable_pcan"),
            Field("num_channels", "int", "num_channels"),
            Field("snr_shift", "int", "snr_shift"),
            Field("gain_lut", "const int16_t*", "gain_lut"),
        )),
        ("log_scale", _stage(
            "KwsLogScaleConfig", "micro_frontend/log_scale.h",
            Field("enable_log", "int", "enable_log"),
            Field("scale_shift", "int", "scale_shift"),
        )),
    ),
)

MFCC_CONFIG = ConfigStruct(
    "KwsMfccConfig",
    "mfcc/mfcc.h",
    (
        ("window", _stage(
            "KwsMfccWindowConfig", "mfcc/mfcc_window.h",
            Field("size", "int", "window_size"),
            Field("step", "int", "window_step"),
            Field("coefficients", "const float*", "window"),
        )),
        ("fft", _stage(
            "KwsRealFftConfig", "mfcc/real_fft.h",
            Field("input_size", "int", "window_size"),
            Field("fft_size", "int", "fft_size"),
            Field("twiddles", "const float*", "twiddles"),
        )),
        ("mel", _stage(
            "KwsMelFilterbankConfig", "mfcc/mel_filterbank.h",
            Field("num_channels", "int", "num_mel_bins"),
            Field("num_spectrum_bins", "int", "num_spectrum_bins"),
            Field("bin_starts", "const int16_t*", "mel_bin_starts"),
            Field("bin_counts", "const int16_t*", "mel_bin_counts"),
            Field("weights", "const float*", "mel_weights"),
        )),
        ("log_mel", _stage(
            "KwsLogMelConfig", "mfcc/log_mel.h",
            Field("num_channels", "int", "num_mel_bins"),
            Field("offset", "float", "log_offset"),
        )),
        ("dct", _stage(
            "KwsDctConfig", "mfcc/dct.h",
            Field("num_inputs", "int", "num_mel_bins"),
            Field("num_outputs", "int", "num_mfcc"),
            Field("matrix", "const float*", "dct_matrix", array="dct"),
        )),
    ),
)

CONFIG_STRUCTS = (MICRO_FRONTEND_CONFIG, MFCC_CONFIG)
