"""Synthetic speech from the TTS engines installed on this machine, offline.

Voices come only from Debian packages and PyPI wheels that carry their voice data (see
:mod:`kws.wakeword.engines`); nothing is downloaded at run time, and an engine that is not
installed is simply left out of :func:`installed_voices`.

:func:`synthesize` returns float32 mono audio at the requested rate with leading and
trailing silence trimmed; :func:`phrase_variants` and :func:`confusable_phrases` (from
:mod:`kws.wakeword.confusable`) give the texts to speak.  ``rate`` and ``pitch`` are factors
on the voice's defaults.  Engines that control pitch themselves (espeak-ng, nanotts) get it
natively; for the others the clip is rendered at ``rate / pitch`` and resampled as if
recorded at ``pitch`` times its sample rate, which gives the requested tempo and a pitch
(and formant) shift of ``pitch`` in the one resampling step every clip goes through anyway.

Speed, measured here (CPU time per clip of a "marvin" phrasing, resampling and trimming
included, engine start-up not; clips per second per core): espeak-ng ~80, flite ~55,
festival ~220 with its diphone voices and ~35 with HTS (one festival process stays open:
~1 s to start), nanotts ~190, piper ~15 (plus ~2 s to load the model once per process),
hibari ~70 (plus ~1-4 s to load), kokoro ~1.2 (~0.8 s of CPU a clip, plus ~1.7 s to load).
3000 clips spread over the other engines take about a minute of CPU on 2 cores; each Kokoro
clip adds ~0.8 s.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kws.errors import KwsError
from kws.wakeword.confusable import confusable_phrases, phrase_variants
from kws.wakeword.engines import Engine, TtsError, all_engines

__all__ = ["Voice", "voice_key", "installed_engines", "installed_voices", "synthesize",
           "trim_silence", "phrase_variants", "confusable_phrases", "TtsError"]

# rate/pitch factors outside this range are not speech any engine renders sensibly.
FACTOR_RANGE = (0.25, 4.0)
# Silence trimming: 10 ms frames, quieter than the loudest frame by this much is silence;
# this much silence is kept at each end so onsets and releases stay whole.
TRIM_FRAME_S = 0.010
TRIM_TOP_DB = 40.0
TRIM_PAD_S = 0.020


@dataclass(frozen=True)
class Voice:
    """One voice of one engine.

    Attributes
    ----------
    engine : str
        Engine name: ``"espeak-ng"``, ``"flite"``, ``"festival"``, ``"nanotts"``, ``"kokoro"``...
    name : str
        The engine's own voice id, e.g. ``"en-us+m3"``, ``"slt"``, ``"en-US"``.
    """

    engine: str
    name: str

    @property
    def id(self) -> str:
        """``"engine:name"``."""
        return f"{self.engine}:{self.name}"


def voice_key(voice: Voice) -> str:
    """A filesystem-safe key for ``voice``, e.g. ``"espeak-ng_en-us_m3"``.

    Only letters, digits, ``-`` and ``.`` survive from engine and name; everything else
    (``/``, spaces, ``:``, ``+``, ``_``) becomes ``_``, so the key never contains the
    ``_nohash_`` separator of the dataset layout by accident.
    """
    return f"{_safe(voice.engine)}_{_safe(voice.name)}"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", text).strip("_") or "voice"


@functools.cache
def _available_engines() -> dict[str, Engine]:
    return {engine.name: engine for engine in all_engines() if engine.available()}


@functools.cache
def _engine_voices(engine: str) -> tuple[str, ...]:
    return tuple(_available_engines()[engine].voices())


def installed_engines() -> list[str]:
    """Names of the engines that really run here, in listing order."""
    return list(_available_engines())


def installed_voices(engines: Sequence[str] | None = None) -> list[Voice]:
    """Every voice of the installed engines (of ``engines`` only, when given).

    Requested engines that are known but not installed are skipped; an unknown engine name
    raises :class:`~kws.errors.KwsError`.
    """
    known = [engine.name for engine in all_engines()]
    wanted = known if engines is None else list(engines)
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise KwsError(f"unknown TTS engine {unknown[0]!r} (known: {', '.join(known)})")
    present = _available_engines()
    return [Voice(name, voice) for name in wanted if name in present
            for voice in _engine_voices(name)]


def synthesize(voice: Voice, text: str, *, rate: float = 1.0, pitch: float = 1.0,
               sample_rate: int = 16000) -> np.ndarray:
    """Speak ``text`` with ``voice``.

    Parameters
    ----------
    voice : Voice
        An installed voice (see :func:`installed_voices`).
    text : str
        What to say; plain text (punctuation shapes intonation: "marvin?" rises).
    rate, pitch : float
        Speaking-rate and pitch factors; 1.0 is the voice's default, 1.2 is 20 % faster
        or higher.
    sample_rate : int
        Sample rate of the result.

    Returns
    -------
    numpy.ndarray
        float32 mono samples in [-1, 1], leading and trailing silence trimmed.

    Raises
    ------
    kws.errors.KwsError
        One line naming engine and voice when the voice is not installed, the arguments
        are out of range or the engine fails or produces silence.
    """
    what = f"TTS {voice.id}"
    if not text.strip():
        raise TtsError(f"{what}: empty text")
    for label, factor in (("rate", rate), ("pitch", pitch)):
        if not FACTOR_RANGE[0] <= factor <= FACTOR_RANGE[1]:
            raise TtsError(f"{what}: {label} {factor} outside {FACTOR_RANGE[0]}..{FACTOR_RANGE[1]}")
    if sample_rate <= 0:
        raise TtsError(f"{what}: sample rate must be positive, got {sample_rate}")
    engine = _available_engines().get(voice.engine)
    if engine is None:
        raise TtsError(f"{what}: engine {voice.engine!r} is not installed "
                       f"(installed: {', '.join(installed_engines()) or 'none'})")
    if voice.name not in _engine_voices(voice.engine):
        raise TtsError(f"{what}: {voice.engine} has no voice {voice.name!r} "
                       "(`kws voices` lists the installed ones)")
    if engine.native_pitch:
        audio, rendered_rate = engine.render(voice.name, text, rate, pitch)
        source_rate = float(rendered_rate)
    else:
        audio, rendered_rate = engine.render(voice.name, text, rate / pitch, 1.0)
        source_rate = rendered_rate * pitch
    audio = _resample(np.asarray(audio, dtype=np.float32), source_rate, sample_rate)
    audio = trim_silence(audio, sample_rate)
    if audio.size == 0:
        raise TtsError(f"{what}: produced silence for {text!r}")
    return np.clip(audio, -1.0, 1.0).astype(np.float32)


def _resample(audio: np.ndarray, source_rate: float, target_rate: int) -> np.ndarray:
    if abs(source_rate - target_rate) < 1e-6:
        return audio
    import soxr

    return soxr.resample(audio, source_rate, target_rate).astype(np.float32)


def trim_silence(audio: np.ndarray, sample_rate: int, *, top_db: float = TRIM_TOP_DB,
                 pad_s: float = TRIM_PAD_S) -> np.ndarray:
    """``audio`` without leading/trailing frames ``top_db`` below its loudest frame.

    Keeps ``pad_s`` of the quiet part at each end; an all-zero clip comes back empty.
    """
    frame = max(1, int(round(TRIM_FRAME_S * sample_rate)))
    count = len(audio) // frame
    if count == 0:
        return audio[:0]
    energy = np.sqrt(np.mean(np.square(audio[:count * frame].reshape(count, frame),
                                       dtype=np.float64), axis=1))
    peak = float(energy.max())
    if peak <= 0.0:
        return audio[:0]
    loud = np.flatnonzero(energy >= peak * 10.0 ** (-top_db / 20.0))
    pad = int(round(pad_s * sample_rate))
    start = max(0, int(loud[0]) * frame - pad)
    end = min(len(audio), (int(loud[-1]) + 1) * frame + pad)
    return audio[start:end]
