"""Negatives for a wake word: other speech cut into 1 s pieces, and noise- and music-like
backgrounds (coloured noise, chords with envelopes, babble of overlapped speech).

Speech folders may be in the Speech Commands layout (``<word>/<speaker>_nohash_<n>.wav``,
``_background_noise_/``) or plain folders of audio files; files longer than a clip are cut
into clip-long pieces.  Every random choice comes from a ``np.random.Generator``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from kws.audio import (
    DEFAULT_SAMPLE_RATE,
    float_to_int16,
    iter_audio_blocks,
    load_audio,
    resample,
)
from kws.data.dataset import AUDIO_SUFFIXES, BACKGROUND_NOISE_DIR, SILENCE_LABEL
from kws.data.splits import speaker_of
from kws.errors import KwsError

# A file up to this many clips long is one example (placed in the window); longer files are
# cut into clip-long pieces.
ONE_PIECE_CLIPS = 1.5
# Generated backgrounds peak at this level (-6 dBFS): loud enough to mix, no clipping.
_NOISE_PEAK = 0.5
_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


@dataclass(frozen=True)
class Piece:
    """``frames`` samples (at 16 kHz) of ``path`` from sample ``start``; ``group`` names the
    speaker (or file) for the split; ``frames`` 0: the whole file."""

    path: Path
    group: str
    start: int = 0
    frames: int = 0


def safe_name(text: str) -> str:
    """``text`` with everything but letters, digits, ``-`` and ``.`` turned into ``-``."""
    return _UNSAFE.sub("-", text).strip("-.") or "x"


def frames_of(path: Path) -> int:
    """Length of an audio file in samples at 16 kHz.

    The header is checked as :func:`kws.audio.load_audio` checks it (missing, empty,
    unreadable or truncated files raise KwsError naming the file), without decoding.
    """
    iter_audio_blocks(path)  # raises on header problems at the call; nothing is read
    info = sf.info(str(path))
    return info.frames * DEFAULT_SAMPLE_RATE // info.samplerate


def audio_files(folder: Path, *, skip: Iterable[str] = ()) -> list[Path]:
    """Audio files under ``folder`` (recursively, sorted), leaving out sub-folders named in
    ``skip`` and hidden ones.  KwsError when ``folder`` is not a folder."""
    if not folder.is_dir():
        raise KwsError(f"{folder}: {'is a file, not' if folder.exists() else 'no such'} folder "
                       "of audio files")
    skipped = set(skip)
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
        and not any(part in skipped or part.startswith(".")
                    for part in p.relative_to(folder).parts[:-1])
    )


def speech_pieces(folders: Sequence[Path], exclude_labels: Iterable[str],
                  clip: int = DEFAULT_SAMPLE_RATE) -> list[Piece]:
    """Every clip-long piece of speech in ``folders``.

    Sub-folders named like a label in ``exclude_labels`` (the wake word itself), ``_silence_``
    and ``_background_noise_`` are left out.  The group of a piece is the speaker of a
    ``<speaker>_nohash_<n>`` name, else the file's name (all pieces of a file stay together).
    """
    skip = {*exclude_labels, SILENCE_LABEL, BACKGROUND_NOISE_DIR}
    pieces: list[Piece] = []
    for folder in folders:
        for path in audio_files(folder, skip=skip):
            group = safe_name(speaker_of(path) or f"{path.parent.name}-{path.stem}")
            frames = frames_of(path)
            if frames <= ONE_PIECE_CLIPS * clip:
                pieces.append(Piece(path, group))
            else:
                pieces.extend(Piece(path, group, start, clip)
                              for start in range(0, frames - clip + 1, clip))
    return pieces


def noise_files(folders: Sequence[Path]) -> list[Path]:
    """The ``_background_noise_`` files of Speech Commands style ``folders``."""
    return [p for f in folders if (f / BACKGROUND_NOISE_DIR).is_dir()
            for p in audio_files(f / BACKGROUND_NOISE_DIR)]


def _normalized(x: np.ndarray) -> np.ndarray:
    top = float(np.max(np.abs(x))) if x.size else 0.0
    return float_to_int16(x * (_NOISE_PEAK / top)) if top > 0 else np.zeros(len(x), np.int16)


def coloured_noise(rng: np.random.Generator, seconds: float, exponent: float,
                   sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """Noise whose power falls as ``1 / f**exponent`` (0 white, 1 pink, 2 brown), int16."""
    n = int(seconds * sample_rate)
    spectrum = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    f = np.fft.rfftfreq(n, 1.0 / sample_rate)
    spectrum *= np.maximum(f, 20.0) ** (-exponent / 2.0)  # no DC runaway below 20 Hz
    spectrum[0] = 0.0
    return _normalized(np.fft.irfft(spectrum, n))


def music_like(rng: np.random.Generator, seconds: float,
               sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """Music-like sound: chords of harmonic tones with attack/decay envelopes on a beat,
    a bass line and a noise snare, int16."""
    n = int(seconds * sample_rate)
    out = np.zeros(n)
    beat = int(sample_rate * 60.0 / rng.uniform(70.0, 150.0))
    root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
    chords = [(0, 4, 7), (5, 9, 12), (7, 11, 14), (9, 12, 16), (2, 5, 9)]
    for start in range(0, n, beat):
        length = min(int(beat * rng.choice([1, 2, 4])), n - start)
        t = np.arange(length) / sample_rate
        envelope = np.minimum(t / 0.01, 1.0) * np.exp(-t * rng.uniform(2.0, 8.0))
        chord = chords[int(rng.integers(len(chords)))]
        for step in chord:
            f0 = root * 2 ** ((step + 12 * int(rng.integers(0, 3))) / 12)
            for harmonic in range(1, 6):
                if f0 * harmonic < sample_rate / 2:
                    out[start:start + length] += (envelope * np.sin(2 * np.pi * f0 * harmonic * t)
                                                  / harmonic ** rng.uniform(1.0, 2.0))
        out[start:start + length] += 1.5 * envelope * np.sin(2 * np.pi * root / 2 * t)
        if rng.random() < 0.5:
            snare = min(int(0.08 * sample_rate), length)
            out[start:start + snare] += 0.8 * rng.standard_normal(snare) * np.exp(
                -np.arange(snare) / (0.02 * sample_rate))
    return _normalized(out)


def babble(rng: np.random.Generator, clips: Sequence[np.ndarray], seconds: float,
           talkers: int = 6, sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """Babble: ``talkers`` streams of randomly chosen speech clips (with short pauses),
    overlapped, int16."""
    if not clips:
        raise KwsError("babble needs at least one speech clip")
    n = int(seconds * sample_rate)
    out = np.zeros(n)
    for _ in range(talkers):
        pos = int(rng.integers(0, sample_rate))
        level = rng.uniform(0.5, 1.0)
        while pos < n:
            clip = clips[int(rng.integers(len(clips)))].astype(np.float64)
            rms = float(np.sqrt(np.mean(clip * clip))) or 1.0
            part = clip[: n - pos] * (level / rms)
            out[pos:pos + len(part)] += part
            pos += len(clip) + int(rng.integers(0, sample_rate // 4))
    return _normalized(out)


def read_piece(piece: Piece) -> np.ndarray:
    """The samples of ``piece`` as int16 at 16 kHz (a whole file when ``frames`` is 0)."""
    if piece.frames == 0:
        return load_audio(piece.path)
    try:
        with sf.SoundFile(str(piece.path)) as f:
            scale = f.samplerate / DEFAULT_SAMPLE_RATE
            f.seek(int(piece.start * scale))
            data = f.read(int(math.ceil(piece.frames * scale)), dtype="float64", always_2d=True)
            rate = f.samplerate
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise KwsError(f"{piece.path}: unreadable audio ({exc})") from None
    if not np.all(np.isfinite(data)):
        raise KwsError(f"{piece.path}: contains NaN or infinite samples")
    audio = resample(data.mean(axis=1), rate, DEFAULT_SAMPLE_RATE)[: piece.frames]
    return float_to_int16(audio)
