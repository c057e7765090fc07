"""Long audio streams for calibration, built deterministically and rendered block by block.

- :func:`negative_stream`: speech, noise and generated music-like signals concatenated with
  short gaps of faint noise and random gains until the stream lasts ``hours``.  When the
  sources hold less audio than that they are reused with variation (another gain, a speed
  change of up to ±10 %); ``unique_seconds`` says how much distinct audio there was.  Long
  files are cut into excerpts of at most :data:`MAX_EXCERPT_S`, read straight from the file,
  so the stream is never in memory whole; :meth:`NegativeStream.excerpt` renders any time
  range again (the report's spectrograms).
- :func:`positive_stream`: held-out positive clips spliced into noise
  (:func:`kws.board_check.plant_words`) in batches, with the time of every planted word; the
  gap between words is long enough that a detection belongs to one word only.

Everything is float in [-1, 1] until the int16 blocks leave; the same seed gives the same
samples.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import soundfile as sf

from kws.audio import _open_source, float_to_int16, load_audio, resample
from kws.audio import _Source as AudioFile
from kws.board_check import PlantedWord, plant_words
from kws.errors import KwsError

SAMPLE_RATE = 16000
MAX_EXCERPT_S = 30.0  # long files are cut into excerpts of at most this
GAP_S = (0.05, 0.35)  # faint noise between segments
GAIN_DB = (-10.0, 3.0)  # random gain per segment
REUSE_SPEED = (0.9, 1.1)  # speed change of reused excerpts
MUSIC_S = (5.0, 20.0)  # length of one generated music-like segment
FAINT_NOISE = 3e-4  # RMS of the gaps (about -70 dBFS)
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


def collect_audio(paths: Sequence[str | os.PathLike[str]], what: str) -> list[Path]:
    """Audio files given as files or folders (searched recursively), sorted per folder.

    Raises
    ------
    KwsError
        A path that does not exist, or a folder without audio files.
    """
    files: list[Path] = []
    for item in map(Path, paths):
        if item.is_dir():
            found = sorted(p for p in item.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES
                           and p.is_file())
            if not found:
                raise KwsError(f"{item}: no audio files ({', '.join(AUDIO_SUFFIXES)}) in this "
                               f"{what} folder")
            files += found
        elif item.is_file():
            files.append(item)
        else:
            raise KwsError(f"{item}: {what} file or folder not found")
    return files


@dataclass(frozen=True)
class Source:
    """One audio file whose header passed :mod:`kws.audio`'s checks, and its kind
    (``speech`` / ``noise``)."""

    file: AudioFile
    kind: str

    @property
    def path(self) -> Path:
        return self.file.path

    @property
    def rate(self) -> int:
        return self.file.rate

    @property
    def frames(self) -> int:
        return self.file.frames


def _source(path: Path, kind: str) -> Source:
    return Source(_open_source(path, SAMPLE_RATE), kind)


@dataclass(frozen=True)
class Segment:
    """One piece of the stream: ``samples`` output samples from ``start`` (stream samples).

    ``kind`` is ``speech``, ``noise``, ``music`` or ``gap``; file pieces read ``frames``
    source frames from ``offset``; ``seed`` makes generated pieces reproducible."""

    kind: str
    start: int
    samples: int
    gain: float
    seed: int
    source: Source | None = None
    offset: int = 0
    frames: int = 0
    speed: float = 1.0


def _read(source: Source, offset: int, frames: int) -> np.ndarray:
    """float32 mono frames ``[offset, offset + frames)`` of ``source``."""
    try:
        with sf.SoundFile(str(source.path)) as f:
            f.seek(offset)
            data = f.read(frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise KwsError(f"{source.path}: unreadable audio ({exc})") from None
    mono = data.mean(axis=1)
    if not np.all(np.isfinite(mono)):
        raise KwsError(f"{source.path}: audio holds NaN or infinite samples")
    return mono


def music_like(samples: int, seed: int, rate: int = SAMPLE_RATE) -> np.ndarray:
    """A music-like signal: harmonic notes of a pentatonic scale on a beat, with a kick drum
    and hi-hats (float64, RMS about 0.1).  Not music, but tonal, rhythmic and broadband the
    way music is, which is what makes music trigger keyword spotters."""
    rng = np.random.default_rng(seed)
    out = np.zeros(samples)
    beat = int(rate * 60.0 / rng.uniform(70, 160))
    root = rng.uniform(110.0, 330.0)
    scale = root * 2.0 ** (np.array([0, 2, 4, 7, 9, 12, 14, 16]) / 12.0)
    partials = np.arange(1, int(rng.integers(2, 7)) + 1)
    for n, at in enumerate(range(0, samples, beat)):
        length = min(beat * int(rng.integers(1, 3)), samples - at)
        t = np.arange(length) / rate
        freq = scale[rng.integers(len(scale))]
        tone = np.sin(2 * np.pi * freq * np.outer(partials, t)).T @ (0.6 ** partials)
        out[at:at + length] += tone * np.exp(-t * rng.uniform(2.0, 8.0))
        if n % 2 == 0:  # kick: a falling sine
            k = t[:min(length, rate // 5)]
            out[at:at + len(k)] += 1.5 * np.sin(2 * np.pi * (150 - 250 * k) * k) * np.exp(-k * 25)
        hat = min(length, rate // 20)  # hi-hat: a burst of differentiated noise
        out[at:at + hat] += 0.4 * np.diff(rng.normal(size=hat + 1)) * np.exp(-t[:hat] * 80)
    rms = float(np.sqrt(np.mean(out ** 2))) or 1.0
    return out * (0.1 / rms)


def render(segment: Segment) -> np.ndarray:
    """The float64 samples of ``segment`` (exactly ``segment.samples`` of them)."""
    if segment.kind == "music":
        audio = music_like(segment.samples, segment.seed)
    elif segment.kind == "gap":
        audio = np.random.default_rng(segment.seed).normal(0.0, FAINT_NOISE, segment.samples)
    else:
        assert segment.source is not None
        raw = _read(segment.source, segment.offset, segment.frames)
        # Slower or faster: resample to a rate off by the speed factor, play at 16 kHz.
        audio = resample(raw, segment.source.rate, round(SAMPLE_RATE / segment.speed))
    audio = np.asarray(audio, np.float64)[:segment.samples] * segment.gain
    return np.pad(audio, (0, segment.samples - len(audio)))


@dataclass
class NegativeStream:
    """A planned negative stream: its segments in order, rendered on demand."""

    segments: list[Segment]
    sources: list[Source]
    unique_seconds: float
    seed: int
    starts: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.starts = np.array([s.start for s in self.segments], np.int64)

    @property
    def samples(self) -> int:
        if not self.segments:
            return 0
        return self.segments[-1].start + self.segments[-1].samples - self.segments[0].start

    @property
    def offset_s(self) -> float:
        """Where this stream (or part) starts in the whole stream."""
        return self.segments[0].start / SAMPLE_RATE if self.segments else 0.0

    def parts(self, count: int) -> list[NegativeStream]:
        """The stream cut into up to ``count`` contiguous parts of about equal length."""
        return [NegativeStream(self.segments[a:b], self.sources, 0.0, self.seed)
                for a, b in split_ranges([s.samples for s in self.segments], count)]

    @property
    def seconds(self) -> float:
        return self.samples / SAMPLE_RATE

    def blocks(self) -> Iterator[np.ndarray]:
        """int16 blocks, one per segment (at most :data:`MAX_EXCERPT_S` long each)."""
        for segment in self.segments:
            yield float_to_int16(render(segment))

    def excerpt(self, start_s: float, end_s: float) -> np.ndarray:
        """int16 samples of the stream between ``start_s`` and ``end_s``."""
        a = max(0, int(start_s * SAMPLE_RATE))
        b = min(self.samples, int(end_s * SAMPLE_RATE))  # a whole stream starts at 0
        first = max(0, int(np.searchsorted(self.starts, a, "right")) - 1)
        last = int(np.searchsorted(self.starts, b, "left"))
        pieces = [render(s) for s in self.segments[first:last]]
        if not pieces or b <= a:
            return np.zeros(0, np.int16)
        offset = self.segments[first].start
        return float_to_int16(np.concatenate(pieces)[a - offset:b - offset])

    def summary(self) -> dict[str, float | int]:
        """Seconds per kind, unique seconds, segments and source files."""
        kinds = {k: round(sum(s.samples for s in self.segments if s.kind == k) / SAMPLE_RATE, 2)
                 for k in ("speech", "noise", "music", "gap")}
        return {"seconds": round(self.seconds, 2), "unique_seconds": round(self.unique_seconds, 2),
                "segments": len(self.segments), "files": len(self.sources),
                **{f"{k}_seconds": v for k, v in kinds.items()}}


def split_ranges(lengths: Sequence[int], count: int) -> list[tuple[int, int]]:
    """Contiguous, non-empty index ranges cutting items of ``lengths`` into up to ``count``
    parts of about equal total length."""
    total, bounds, done = sum(lengths), [0], 0
    for i, n in enumerate(lengths[:-1]):
        done += n
        if len(bounds) < count and done >= total * len(bounds) / count:
            bounds.append(i + 1)
    bounds.append(len(lengths))
    return [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def _excerpts(sources: list[Source]) -> list[tuple[Source, int, int]]:
    """(source, offset, frames) pieces of at most :data:`MAX_EXCERPT_S` covering each file."""
    pieces = []
    for src in sources:
        step = max(1, int(MAX_EXCERPT_S * src.rate))
        pieces += [(src, at, min(step, src.frames - at)) for at in range(0, src.frames, step)]
    return pieces


def negative_stream(speech: Sequence[str | os.PathLike[str]],
                    noise: Sequence[str | os.PathLike[str]] = (), *, hours: float = 1.0,
                    seed: int = 0, music_share: float = 0.1) -> NegativeStream:
    """Plan a negative stream of at least ``hours`` from ``speech`` and ``noise`` (files or
    folders), with ``music_share`` of its time generated music-like signals.

    Raises
    ------
    KwsError
        Missing paths, empty folders, unreadable files, no audio at all, ``hours`` <= 0.
    """
    if not hours > 0:
        raise KwsError(f"stream length must be positive, not {hours} hours")
    sources = [_source(p, "speech") for p in collect_audio(speech, "negative")]
    sources += [_source(p, "noise") for p in collect_audio(noise, "noise")]
    pieces = _excerpts(sources)
    if not pieces:
        raise KwsError("no negative audio given to build a negative stream from")
    rng = np.random.default_rng(seed)
    target = int(hours * 3600 * SAMPLE_RATE)
    segments: list[Segment] = []
    at = music = 0
    used: set[tuple[Path, int]] = set()  # pieces in the stream: their source seconds are unique
    unique = 0.0

    def add(segment: Segment) -> None:
        nonlocal at
        segments.append(replace(segment, start=at))
        at += segment.samples

    reuse = 0
    while at < target:  # one pass over every piece, in a new order each time
        for index in rng.permutation(len(pieces)):
            if at >= target:
                break
            if music < music_share * at:
                n = int(rng.uniform(*MUSIC_S) * SAMPLE_RATE)
                add(Segment("music", 0, n, _gain(rng), int(rng.integers(2**31))))
                music += n
                unique += n / SAMPLE_RATE
            src, offset, frames = pieces[index]
            if (src.path, offset) not in used:
                used.add((src.path, offset))
                unique += frames / src.rate
            speed = 1.0 if reuse == 0 else float(rng.uniform(*REUSE_SPEED))
            n = max(1, round(frames * SAMPLE_RATE / src.rate / speed))
            add(Segment(src.kind, 0, n, _gain(rng), 0, src, offset, frames, speed))
            gap = int(rng.uniform(*GAP_S) * SAMPLE_RATE)
            add(Segment("gap", 0, gap, 1.0, int(rng.integers(2**31))))
        reuse += 1
    return NegativeStream(segments, sources, unique, seed)


def _gain(rng: np.random.Generator) -> float:
    return float(10 ** (rng.uniform(*GAIN_DB) / 20))


@dataclass
class PositiveBatch:
    """Clips planted together into one stretch of noise, from stream sample ``start``."""

    clips: list[Path]
    noise: int  # index into the stream's noise files (-1: generated pink noise)
    noise_offset: float  # fraction of the noise file where the bed starts
    snr_db: float
    start: int
    samples: int


@dataclass
class PositiveStream:
    """Positive clips planted in noise: batches, planted words (stream times)."""

    batches: list[PositiveBatch]
    noise: list[Path]
    words: list[PlantedWord]
    label: str
    gap_s: float

    @property
    def seconds(self) -> float:
        last = self.batches[-1]
        return (last.start + last.samples - self.batches[0].start) / SAMPLE_RATE

    @property
    def offset_s(self) -> float:
        """Where this stream (or part) starts in the whole stream."""
        return self.batches[0].start / SAMPLE_RATE

    def parts(self, count: int) -> list[PositiveStream]:
        """The stream cut into up to ``count`` contiguous parts of whole batches."""
        return [PositiveStream(self.batches[a:b], self.noise, [], self.label, self.gap_s)
                for a, b in split_ranges([b.samples for b in self.batches], count)]

    def render(self, batch: PositiveBatch) -> tuple[np.ndarray, list[PlantedWord]]:
        """int16 audio of ``batch`` and its words (times within the batch)."""
        clips = [(self.label, load_audio(p, SAMPLE_RATE)) for p in batch.clips]
        length = sum(len(c) for _, c in clips) + int((len(clips) + 1) * self.gap_s * SAMPLE_RATE)
        bed = self._bed(batch, length)
        return plant_words(clips, bed, gap_s=self.gap_s, snr_db=batch.snr_db, rate=SAMPLE_RATE)

    def _bed(self, batch: PositiveBatch, length: int) -> np.ndarray:
        if batch.noise < 0:
            return pink_noise(length, batch.start)
        src = _source(self.noise[batch.noise], "noise")
        offset = int(batch.noise_offset * max(0, src.frames - length * src.rate // SAMPLE_RATE))
        raw = resample(_read(src, offset, length * src.rate // SAMPLE_RATE + 1), src.rate,
                       SAMPLE_RATE)
        return raw if np.any(raw) else pink_noise(length, batch.start)

    def blocks(self) -> Iterator[np.ndarray]:
        """int16 blocks, one per batch."""
        for batch in self.batches:
            yield self.render(batch)[0]

    def excerpt(self, start_s: float, end_s: float) -> np.ndarray:
        """int16 samples between ``start_s`` and ``end_s`` (within one batch: the word's)."""
        at = int(start_s * SAMPLE_RATE)
        batch = next((b for b in self.batches if b.start <= at < b.start + b.samples), None)
        if batch is None:
            return np.zeros(0, np.int16)
        audio = self.render(batch)[0]
        return audio[at - batch.start:int(end_s * SAMPLE_RATE) - batch.start]


def pink_noise(samples: int, seed: int) -> np.ndarray:
    """Pink (1/f) noise, RMS 0.1 (the bed when no noise files are given)."""
    spectrum = np.fft.rfft(np.random.default_rng(seed).normal(size=samples))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    noise = np.fft.irfft(spectrum, samples)
    return noise * (0.1 / (float(np.sqrt(np.mean(noise ** 2))) or 1.0))


def positive_stream(positives: Sequence[str | os.PathLike[str]], label: str,
                    noise: Sequence[str | os.PathLike[str]] = (), *, seed: int = 0,
                    snr_db: tuple[float, float] = (5.0, 20.0), gap_s: float = 2.0,
                    batch_size: int = 25) -> PositiveStream:
    """Plan (and render once, for the word times) the positive stream: the clips of
    ``positives`` in batches of ``batch_size``, each batch in an excerpt of one noise file
    (generated pink noise without ``noise``) at an SNR drawn from ``snr_db``."""
    clips = collect_audio(positives, "positive")
    noise_files = collect_audio(noise, "noise")
    if not clips:
        raise KwsError("no positive clips given")
    rng = np.random.default_rng(seed)
    order = [clips[i] for i in rng.permutation(len(clips))]
    stream = PositiveStream([], noise_files, [], label, gap_s)
    at = 0
    for first in range(0, len(order), batch_size):
        batch = PositiveBatch(order[first:first + batch_size],
                              int(rng.integers(len(noise_files))) if noise_files else -1,
                              float(rng.uniform()), float(rng.uniform(*snr_db)), at, 0)
        audio, words = stream.render(batch)
        batch.samples = len(audio)
        stream.batches.append(batch)
        stream.words += [replace(w, start_s=w.start_s + at / SAMPLE_RATE,
                                 end_s=w.end_s + at / SAMPLE_RATE) for w in words]
        at += len(audio)
    return stream
