"""Guided recording of wake-word takes: trimming, take checks, numbering and the manifest.

Plain functions over int16 16 kHz audio and the output folder; ``kws record``
(:mod:`kws.commands.record`) adds the microphone and the prompts.  The output folder is a
dataset ``kws train`` reads as is: ``OUT/<word>/<speaker>_<n>.wav`` for takes and
``OUT/_background_noise_/<speaker>_<n>.wav`` for background chunks, plus ``OUT/manifest.csv``.

Every take is written atomically (temp file, then rename) and the manifest after it, with
Ctrl-C held back until both are in place, so an interrupt never loses or corrupts a finished
take.
"""

from __future__ import annotations

import csv
import io
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kws.audio import DEFAULT_SAMPLE_RATE, save_wav
from kws.data.dataset import BACKGROUND_NOISE_DIR
from kws.errors import KwsError
from kws.fileio import write_text_atomic

MANIFEST_NAME = "manifest.csv"
MANIFEST_FIELDS = (
    "file", "word", "speaker", "take", "device", "device_rate", "sample_rate", "seconds",
    "speech_start_s", "speech_end_s", "peak_dbfs", "speech_rms_dbfs", "recorded_at",
    "saved_at",
)
# Speaker names end up in file names (<speaker>_<n>.wav): no "_" so the number parses back.
_SPEAKER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_FRAME_MS = 10
_SILENT_DB = -120.0
# Shorter active runs than this (10 ms frames) are clicks, not speech.
_MIN_RUN_FRAMES = 3


@dataclass(frozen=True)
class TakeSettings:
    """What makes a good take and how it is cut.

    ``clip_ms`` is the length of a saved take (the word centred in it); speech longer than
    that is kept whole plus padding, up to ``max_ms``.
    """

    clip_ms: int = 1000
    max_ms: int = 1500
    pad_ms: int = 100
    min_speech_ms: int = 150
    min_peak_dbfs: float = -30.0
    # A frame is speech when it is this far above the take's noise floor ...
    snr_db: float = 12.0
    # ... and above this absolute level.
    min_speech_dbfs: float = -50.0
    # Samples at full scale (device audio, before resampling) that mark a take clipped.
    max_clipped_samples: int = 3


@dataclass(frozen=True)
class TakeCheck:
    """The verdict on one take: ``reason`` is None for a good take."""

    reason: str | None
    span: tuple[int, int] | None
    peak_dbfs: float
    speech_rms_dbfs: float

    @property
    def ok(self) -> bool:
        return self.reason is None


def dbfs(audio: np.ndarray) -> float:
    """Peak level of int16 audio in dB relative to full scale (-120 for silence)."""
    if audio.size == 0:
        return _SILENT_DB
    peak = float(np.max(np.abs(audio.astype(np.float64)))) / 32768.0
    return max(_SILENT_DB, 20.0 * np.log10(peak)) if peak > 0 else _SILENT_DB


def rms_dbfs(audio: np.ndarray) -> float:
    """RMS level of int16 audio in dBFS (-120 for silence)."""
    if audio.size == 0:
        return _SILENT_DB
    power = float(np.mean((audio.astype(np.float64) / 32768.0) ** 2))
    return max(_SILENT_DB, 10.0 * np.log10(power)) if power > 0 else _SILENT_DB


def frame_levels(audio: np.ndarray, rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """RMS level in dBFS of each 10 ms frame (a partial last frame is dropped)."""
    frame = rate * _FRAME_MS // 1000
    n = len(audio) // frame
    x = audio[: n * frame].astype(np.float64).reshape(n, frame) / 32768.0
    power = np.mean(x * x, axis=1)
    return 10.0 * np.log10(np.maximum(power, 10.0 ** (_SILENT_DB / 10.0)))


def speech_span(
    audio: np.ndarray, settings: TakeSettings, rate: int = DEFAULT_SAMPLE_RATE
) -> tuple[int, int] | None:
    """Samples ``[start, end)`` from the first to the last speech frame, or None.

    A frame is speech when its level is ``snr_db`` above the noise floor (the take's
    10th-percentile frame level) and above ``min_speech_dbfs``; runs shorter than 30 ms
    are ignored.
    """
    levels = frame_levels(audio, rate)
    if levels.size == 0:
        return None
    threshold = max(float(np.percentile(levels, 10)) + settings.snr_db,
                    settings.min_speech_dbfs)
    active = levels > threshold
    edges = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(np.int8), [0]])))
    runs = [(s, e) for s, e in zip(edges[::2], edges[1::2], strict=True)
            if e - s >= _MIN_RUN_FRAMES]
    if not runs:
        return None
    frame = rate * _FRAME_MS // 1000
    return int(runs[0][0] * frame), int(runs[-1][1] * frame)


def check_take(
    audio: np.ndarray, device_audio: np.ndarray, settings: TakeSettings,
    rate: int = DEFAULT_SAMPLE_RATE,
) -> TakeCheck:
    """Judge a take: clipped, too quiet, too short, too long or cut off, with the numbers.

    Parameters
    ----------
    audio
        The take as int16 at ``rate``.
    device_audio
        The same take as the device gave it (float in [-1, 1]); clipping is counted there,
        before resampling smooths it.
    settings
        Thresholds.
    rate
        Rate of ``audio``.
    """
    peak = dbfs(audio)
    span = speech_span(audio, settings, rate)
    speech = audio[span[0] : span[1]] if span else audio[:0]
    level = rms_dbfs(speech)
    clipped = int(np.count_nonzero(np.abs(device_audio) >= 32767.0 / 32768.0))

    def verdict(reason: str | None) -> TakeCheck:
        return TakeCheck(reason, span, peak, level)

    if clipped >= settings.max_clipped_samples:
        return verdict(f"clipped ({clipped} samples at full scale): speak softer or move "
                       "back from the microphone")
    if span is None or peak < settings.min_peak_dbfs:
        return verdict(f"too quiet (peak {peak:.1f} dBFS, need {settings.min_peak_dbfs:g}): "
                       "speak louder or closer to the microphone")
    ms = (span[1] - span[0]) * 1000 / rate
    if ms < settings.min_speech_ms:
        return verdict(f"too short ({ms / 1000:.2f} s of sound, need "
                       f"{settings.min_speech_ms / 1000:g} s)")
    if ms + 2 * settings.pad_ms > settings.max_ms:
        return verdict(f"too long ({ms / 1000:.2f} s of sound, at most "
                       f"{(settings.max_ms - 2 * settings.pad_ms) / 1000:g} s)")
    edge = 2 * rate * _FRAME_MS // 1000  # speech within 20 ms of an edge ran past it
    if span[1] > len(audio) - edge:
        return verdict("cut off at the end of the take: say the word right after the prompt")
    if span[0] < edge:
        return verdict("cut off at the start of the take: wait for the prompt")
    return verdict(None)


def trim_take(
    audio: np.ndarray, span: tuple[int, int], settings: TakeSettings,
    rate: int = DEFAULT_SAMPLE_RATE,
) -> np.ndarray:
    """Cut a take around its speech ``span``: ``clip_ms`` with the speech centred, or the
    speech plus ``pad_ms`` each side when that is longer (zero-padded at the edges)."""
    clip = settings.clip_ms * rate // 1000
    pad = settings.pad_ms * rate // 1000
    start, end = span[0] - pad, span[1] + pad
    if end - start < clip:
        start = (span[0] + span[1]) // 2 - clip // 2
        # Slide the window inside the recording where it fits, so it holds no padding zeros.
        start = max(0, min(start, len(audio) - clip))
        end = start + clip
    out = np.zeros(end - start, dtype=np.int16)
    lo, hi = max(start, 0), min(end, len(audio))
    out[lo - start : hi - start] = audio[lo:hi]
    return out


def check_name(value: str, what: str) -> str:
    """``value`` when it is a usable word/speaker name, else a one-line KwsError."""
    pattern = _SPEAKER if what == "speaker" else _WORD
    if not pattern.match(value):
        allowed = "letters, digits, '.', '-'" if what == "speaker" else \
            "letters, digits, '_', '-', not starting with '_'"
        raise KwsError(f"{what} name {value!r} is not usable in file names ({allowed})")
    return value


def take_path(out: Path, folder: str, speaker: str, number: int) -> Path:
    """``out/<folder>/<speaker>_<number>.wav``."""
    return out / folder / f"{speaker}_{number}.wav"


def next_take_number(out: Path, folder: str, speaker: str) -> int:
    """The number after the highest take of ``speaker`` in ``out/folder`` or the manifest
    (1 for the first), so a new session never overwrites an earlier one's takes."""
    pattern = re.compile(rf"^{re.escape(speaker)}_(\d+)\.wav$")
    names = [p.name for p in (out / folder).glob("*.wav")] if (out / folder).is_dir() else []
    names += [Path(r["file"]).name for r in read_manifest(out)
              if Path(r["file"]).parent.name == folder]
    numbers = [int(m.group(1)) for n in names if (m := pattern.match(n))]
    return max(numbers, default=0) + 1


def read_manifest(out: Path) -> list[dict[str, str]]:
    """Rows of ``out/manifest.csv`` (empty when there is none)."""
    path = out / MANIFEST_NAME
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None:
            return []
        if list(reader.fieldnames) != list(MANIFEST_FIELDS):
            raise KwsError(f"{path}: not a kws record manifest (columns {reader.fieldnames})")
        return list(reader)


def append_manifest(out: Path, row: dict[str, object]) -> None:
    """Add ``row`` to ``out/manifest.csv``, rewriting it atomically."""
    path = out / MANIFEST_NAME
    read_manifest(out)  # refuses a file that is not ours before appending to it
    text = path.read_text() if path.is_file() else ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
    if not text:
        writer.writeheader()
    writer.writerow({k: row.get(k, "") for k in MANIFEST_FIELDS})
    write_text_atomic(path, text + buffer.getvalue())


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold back SIGINT (Ctrl-C) inside the block and deliver it at the end."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            signal.raise_signal(signal.SIGINT)


def save_take(out: Path, folder: str, speaker: str, audio: np.ndarray,
              row: dict[str, object]) -> Path:
    """Write a take as the next ``out/folder/<speaker>_<n>.wav`` and its manifest row.

    The WAV is renamed into place before the manifest is rewritten; Ctrl-C waits until
    both are done.
    """
    (out / folder).mkdir(parents=True, exist_ok=True)
    with interrupts_held():
        number = next_take_number(out, folder, speaker)
        path = save_wav(take_path(out, folder, speaker, number), audio, DEFAULT_SAMPLE_RATE)
        append_manifest(out, {
            **row, "file": path.relative_to(out).as_posix(), "speaker": speaker,
            "take": number, "sample_rate": DEFAULT_SAMPLE_RATE,
            "seconds": f"{len(audio) / DEFAULT_SAMPLE_RATE:.3f}",
            "word": row.get("word", folder),
        })
    return path


__all__ = [
    "BACKGROUND_NOISE_DIR",
    "MANIFEST_NAME",
    "MANIFEST_FIELDS",
    "TakeCheck",
    "TakeSettings",
    "append_manifest",
    "check_name",
    "check_take",
    "dbfs",
    "frame_levels",
    "interrupts_held",
    "next_take_number",
    "read_manifest",
    "rms_dbfs",
    "save_take",
    "speech_span",
    "take_path",
    "trim_take",
]
