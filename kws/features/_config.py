"""What the front end configs share: the window arithmetic, ``kind``/``num_features``, and
the checks that reject a bad parameter with a message naming it."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

import numpy as np

from kws._core import lib
from kws.errors import KwsError


class FrontendConfigError(KwsError, ValueError):
    """An invalid front end parameter: a ``ValueError`` for library callers, and a
    ``KwsError`` so the CLI reports it as one clear line."""


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return _is_int(value) or isinstance(value, (float, np.floating))


@dataclass(frozen=True)
class FrontendConfigBase(ABC):
    """Base of the frozen config dataclasses (``MicroFrontendConfig``, ``MfccConfig``): the
    fields both start with, 16 kHz audio in 30 ms windows every 20 ms.

    Subclasses add their fields (``lower_hz`` and ``upper_hz`` among them), set
    :attr:`kind`, :attr:`what` and :attr:`error`, and implement :attr:`num_features` and
    ``_validate`` (called on construction).
    """

    kind: ClassVar[str]  # "micro" or "mfcc": the "type" in model.json
    what: ClassVar[str]  # how messages name the front end
    error: ClassVar[type[FrontendConfigError]]

    sample_rate: int = 16000
    window_ms: int = 30
    step_ms: int = 20

    if TYPE_CHECKING:  # declared by every subclass, with its own default
        lower_hz: float
        upper_hz: float

    def __post_init__(self) -> None:
        self._validate()

    @abstractmethod
    def _validate(self) -> None:
        """Raise :attr:`error` naming the first bad field (each front end's own rules)."""

    @property
    @abstractmethod
    def num_features(self) -> int:
        """Values per feature frame (the model input's channel count)."""

    @property
    def window_size(self) -> int:
        """Window length in samples."""
        return self.window_ms * self.sample_rate // 1000

    @property
    def window_step(self) -> int:
        """Hop in samples."""
        return self.step_ms * self.sample_rate // 1000

    def to_dict(self) -> dict:
        """The form stored in ``model.json``: ``{"type": kind, **fields}``."""
        return {"type": self.kind, **asdict(self)}

    def _fail(self, message: str) -> NoReturn:
        raise self.error(f"{self.what} config: {message}")

    def _check_types(self, ints: tuple[str, ...], reals: tuple[str, ...],
                     bools: tuple[str, ...] = ()) -> None:
        for name in ints:
            if not _is_int(getattr(self, name)):
                self._fail(f"{name} must be an integer, got {getattr(self, name)!r}")
        for name in reals:
            value = getattr(self, name)
            if not _is_real(value) or not math.isfinite(value):
                self._fail(f"{name} must be a finite number, got {value!r}")
        for name in bools:
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                self._fail(f"{name} must be true or false, got {getattr(self, name)!r}")

    def _check_range(self, name: str, low: float, high: float, why: str = "") -> None:
        """``low <= getattr(self, name) <= high``, or a message naming the field and value."""
        value = getattr(self, name)
        if not low <= value <= high:
            self._fail(f"{name} must be {low:g}..{high:g}{why}, got {value}")

    def _check_window(self) -> None:
        """Positive sample rate, a window of >= 2 samples the C core can hold, 1 <= hop <=
        window."""
        if self.sample_rate <= 0:
            self._fail(f"sample_rate must be positive, got {self.sample_rate}")
        if self.window_ms <= 0 or self.step_ms <= 0:
            self._fail(f"window_ms and step_ms must be positive, got {self.window_ms} and "
                       f"{self.step_ms}")
        if self.step_ms > self.window_ms:
            self._fail(f"step_ms ({self.step_ms}) must not exceed window_ms ({self.window_ms})")
        if self.window_size < 2 or self.window_step < 1:
            self._fail(f"{self.window_ms} ms window / {self.step_ms} ms step at "
                       f"{self.sample_rate} Hz is under 2 / 1 samples")
        if self.window_size > lib.KWS_MAX_WINDOW_SIZE:
            self._fail(f"window_ms {self.window_ms} at {self.sample_rate} Hz: "
                       f"{self.window_size} samples exceeds the C core's KWS_MAX_WINDOW_SIZE "
                       f"({lib.KWS_MAX_WINDOW_SIZE}), its build-time capacity")

    def _check_band(self, *, upper_inclusive: bool) -> None:
        """``0 <= lower_hz < upper_hz`` up to the Nyquist frequency."""
        nyquist = self.sample_rate / 2
        below = self.upper_hz <= nyquist if upper_inclusive else self.upper_hz < nyquist
        if not (0.0 <= self.lower_hz < self.upper_hz and below):
            relation = "<=" if upper_inclusive else "<"
            self._fail(f"need 0 <= lower_hz < upper_hz {relation} sample_rate / 2 "
                       f"({nyquist:g}), got lower_hz={self.lower_hz}, upper_hz={self.upper_hz} "
                       f"at sample_rate {self.sample_rate}")

    def _check_fft_capacity(self, fft_size: int) -> None:
        if fft_size > lib.KWS_MAX_FFT_SIZE:
            self._fail(f"FFT size {fft_size} exceeds the C core's KWS_MAX_FFT_SIZE "
                       f"({lib.KWS_MAX_FFT_SIZE})")


def next_fft_size(window_size: int) -> int:
    """The FFT size both front ends use by default: the next power of two >= the window
    (at least 4)."""
    return 1 << max(2, (window_size - 1).bit_length())
