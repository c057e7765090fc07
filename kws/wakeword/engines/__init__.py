"""Text-to-speech engines behind :mod:`kws.wakeword.tts`.

Each engine wraps one locally installed synthesizer (a Debian program or a PyPI package whose
voice data is inside the wheel; nothing is downloaded at run time).  An engine says whether it
runs here (:meth:`Engine.available`), which voices it has (:meth:`Engine.voices`) and renders
text with one of them (:meth:`Engine.render`) at the engine's own sample rate.  Resampling,
silence trimming and the pitch fallback live in :mod:`kws.wakeword.tts`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from kws.errors import KwsError

# One synthesizer call never takes this long; a hung process is killed and reported.
SUBPROCESS_TIMEOUT_S = 60.0


class TtsError(KwsError):
    """A TTS engine failed or a voice is not installed (message names engine and voice)."""


class Engine(ABC):
    """One TTS engine.

    ``native_pitch`` says whether :meth:`render` honours ``pitch`` itself; engines without it
    get ``pitch == 1.0`` and :func:`kws.wakeword.tts.synthesize` shifts pitch by resampling.
    """

    name: ClassVar[str]
    native_pitch: ClassVar[bool] = False
    # Where the engine comes from, shown by `kws voices` (and how to get it when missing).
    source: ClassVar[str]

    @abstractmethod
    def available(self) -> bool:
        """Whether the engine really runs on this machine (program or package present)."""

    @abstractmethod
    def voices(self) -> list[str]:
        """The engine's own ids of its installed voices (called only when available)."""

    @abstractmethod
    def render(self, voice: str, text: str, rate: float, pitch: float) -> tuple[np.ndarray, int]:
        """Speak ``text``; returns (mono float samples, sample rate).

        ``rate`` > 1 speaks faster; ``pitch`` > 1 higher (always 1.0 unless
        ``native_pitch``).
        """


class PerProcessCache:
    """Objects built once per process: a forked child builds its own (an ONNX Runtime
    session, with its thread pool, is not safe to use across a fork)."""

    def __init__(self) -> None:
        self._items: dict[str, Any] = {}
        self._owner = 0
        self._lock = threading.Lock()

    def get(self, key: str, build: Callable[[], Any]) -> Any:
        """The object for ``key`` in this process, built by ``build()`` the first time."""
        with self._lock:
            if self._owner != os.getpid():
                self._items, self._owner = {}, os.getpid()
            if key not in self._items:
                self._items[key] = build()
            return self._items[key]


def has_program(program: str) -> bool:
    """Whether ``program`` is on PATH."""
    return shutil.which(program) is not None


def run_program(cmd: Sequence[str], what: str, *, stdin: bytes | None = None) -> bytes:
    """Run ``cmd`` and return its stdout; :class:`TtsError` naming ``what`` when it fails."""
    try:
        done = subprocess.run(list(cmd), input=stdin, capture_output=True,
                              timeout=SUBPROCESS_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TtsError(f"{what}: {exc}") from None
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        detail = lines[-1] if lines else f"exit status {done.returncode}"
        raise TtsError(f"{what}: {detail}")
    return done.stdout


def parse_wav(data: bytes, what: str) -> tuple[np.ndarray, int]:
    """Decode 16-bit PCM WAV bytes into (mono float32 in [-1, 1], sample rate).

    Tolerates the placeholder chunk sizes that programs writing WAV to a pipe leave in the
    header (espeak-ng's ``--stdout``): the data chunk runs to the end of the bytes.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise TtsError(f"{what}: the engine did not produce a WAV file")
    pos, rate, channels, bits = 12, 0, 0, 0
    while pos + 8 <= len(data):
        chunk, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        body = data[pos + 8:pos + 8 + size]
        if chunk == b"fmt ":
            channels = int.from_bytes(body[2:4], "little")
            rate = int.from_bytes(body[4:8], "little")
            bits = int.from_bytes(body[14:16], "little")
        elif chunk == b"data":
            if bits != 16 or channels < 1 or rate <= 0:
                raise TtsError(f"{what}: unsupported WAV format ({bits}-bit, {channels} channels)")
            body = body[:len(body) - len(body) % (2 * channels)]
            samples = np.frombuffer(body, dtype="<i2").reshape(-1, channels)
            return samples.mean(axis=1).astype(np.float32) / 32768.0, rate
        pos += 8 + size + (size & 1)
    raise TtsError(f"{what}: the engine's WAV output has no audio")


def all_engines() -> list[Engine]:
    """Every engine kws knows, in the order ``kws voices`` lists them."""
    from kws.wakeword.engines.debian import DEBIAN_ENGINES
    from kws.wakeword.engines.pypi import PYPI_ENGINES

    return [engine() for engine in DEBIAN_ENGINES + PYPI_ENGINES]
