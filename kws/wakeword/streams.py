"""Long audio streams for calibration, built deterministically and rendered block by block.

- :func:`negative_stream`: speech, noise, generated music-like signals and babble
  (:mod:`kws.wakeword.negatives`' generators) concatenated with short gaps of faint noise
  and random gains until the stream lasts ``hours``.  When the sources hold less audio than
  that they are reused with variation (another gain, a speed change of up to ±10 %);
  ``unique_seconds`` says how much distinct audio there was.  Long files are cut into
  excerpts of at most :data:`MAX_EXCERPT_S`, read straight from the file, so the stream is
  never in memory whole; :meth:`NegativeStream.excerpt` renders any time range again (the
  report's spectrograms).
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

from kws.audio import float_to_int16, load_audio, resample
from kws.board_check import PlantedWord, plant_words
from kws.data.dataset import AUDIO_SUFFIXES
from kws.errors import KwsError
from kws.wakeword.negatives import (
    Piece,
    audio_files,
    babble,
    coloured_noise,
    frames_of,
    music_like,
    read_piece,
)

SAMPLE_RATE = 16000
MAX_EXCERPT_S = 30.0  # long files are cut into excerpts of at most this
GAP_S = (0.05, 0.35)  # faint noise between segments
GAIN_DB = (-10.0, 3.0)  # random gain per segment
REUSE_SPEED = (0.9, 1.1)  # speed change of reused excerpts
MUSIC_S = (5.0, 20.0)  # length of one generated music-like or babble segment
BABBLE_CLIPS = 12  # speech pieces a babble segment overlaps
FAINT_NOISE = 3e-4  # RMS of the gaps (about -70 dBFS)


def collect_audio(paths: Sequence[str | os.PathLike[str]], what: str) -> list[Path]:
    """Audio files given as files or folders (searched recursively, hidden folders left
    out), sorted per folder.

    Raises
    ------
    KwsError
        A path that does not exist, or a folder without audio files.
    """
    files: list[Path] = []
    for item in map(Path, paths):
        if item.is_dir():
            found = audio_files(item)
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
class Segment:
    """One piece of the stream: ``samples`` output samples from ``start`` (stream samples).

    ``kind`` is ``speech`` or ``noise`` (``piece`` of a file, played at ``speed``),
    ``music``, ``babble`` (``talkers`` overlapped) or ``gap`` (faint noise); ``seed`` makes
    generated pieces reproducible."""

    kind: str
    start: int
    samples: int
    gain: float
    seed: int
    piece: Piece | None = None
    speed: float = 1.0
    talkers: tuple[Piece, ...] = ()


def _float(audio: np.ndarray) -> np.ndarray:
    return audio.astype(np.float64) / 32768.0


def render(segment: Segment) -> np.ndarray:
    """The float64 samples of ``segment`` (exactly ``segment.samples`` of them)."""
    rng = np.random.default_rng(segment.seed)
    seconds = segment.samples / SAMPLE_RATE
    if segment.kind == "music":
        audio = _float(music_like(rng, seconds))
    elif segment.kind == "babble":
        audio = _float(babble(rng, [read_piece(p) for p in segment.talkers], seconds))
    elif segment.kind == "gap":
        audio = rng.normal(0.0, FAINT_NOISE, segment.samples)
    else:
        assert segment.piece is not None
        audio = _float(read_piece(segment.piece))
        if segment.speed != 1.0:  # resample to a rate off by the speed, play at 16 kHz
            audio = resample(audio, SAMPLE_RATE, round(SAMPLE_RATE / segment.speed))
    audio = audio[:segment.samples] * segment.gain
    return np.pad(audio, (0, segment.samples - len(audio)))


@dataclass
class NegativeStream:
    """A planned negative stream: its segments in order, rendered on demand."""

    segments: list[Segment]
    files: int  # source files
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
        return [NegativeStream(self.segments[a:b], self.files, 0.0, self.seed)
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
                 for k in ("speech", "noise", "music", "babble", "gap")}
        return {"seconds": round(self.seconds, 2), "unique_seconds": round(self.unique_seconds, 2),
                "segments": len(self.segments), "files": self.files,
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


def _excerpts(files: list[Path], kind: str) -> list[tuple[str, Piece]]:
    """``(kind, piece)`` of at most :data:`MAX_EXCERPT_S` covering each file (headers
    checked: a bad file is a KwsError naming it)."""
    step = int(MAX_EXCERPT_S * SAMPLE_RATE)
    pieces = []
    for path in files:
        frames = frames_of(path)
        pieces += [(kind, Piece(path, path.name, at, min(step, frames - at)))
                   for at in range(0, frames, step)]
    return pieces


def negative_stream(speech: Sequence[str | os.PathLike[str]],
                    noise: Sequence[str | os.PathLike[str]] = (), *, hours: float = 1.0,
                    seed: int = 0, music_share: float = 0.1, babble_share: float = 0.05,
                    noise_share: float = 0.3) -> NegativeStream:
    """Plan a negative stream of at least ``hours`` from ``speech`` and ``noise`` (files or
    folders), with ``music_share`` of its time generated music-like signals and
    ``babble_share`` babble (several pieces of the speech overlapped, like a crowd or TV).

    Noise files fill at most ``noise_share`` of the time (plus the excerpt that crosses
    it) when there is speech: false
    accepts come from speech, and a few long noise files next to a small speech folder
    (the bundled sample's) would otherwise fill most of the hour and price the detector for
    a quiet room.

    Raises
    ------
    KwsError
        Missing paths, empty folders, unreadable files, no audio at all, ``hours`` <= 0.
    """
    if not hours > 0:
        raise KwsError(f"stream length must be positive, not {hours} hours")
    speech_files, noise_files = collect_audio(speech, "negative"), collect_audio(noise, "noise")
    pieces = _excerpts(speech_files, "speech") + _excerpts(noise_files, "noise")
    if not pieces:
        raise KwsError("no negative audio given to build a negative stream from")
    talkers = [p for kind, p in pieces if kind == "speech" and p.frames <= 2 * SAMPLE_RATE]
    rng = np.random.default_rng(seed)
    target = int(hours * 3600 * SAMPLE_RATE)
    segments: list[Segment] = []
    made = {"music": 0, "babble": 0, "noise": 0}
    has_speech = any(kind == "speech" for kind, _ in pieces)
    used: set[Piece] = set()  # pieces in the stream: their seconds are unique
    unique = 0.0

    def add(segment: Segment) -> None:
        segments.append(replace(segment, start=_end(segments)))

    reuse = 0
    while _end(segments) < target:  # one pass over every piece, in a new order each time
        for index in rng.permutation(len(pieces)):
            at = _end(segments)
            if at >= target:
                break
            kind, piece = pieces[index]
            if kind == "noise" and has_speech and made["noise"] >= noise_share * target:
                continue
            for extra, share in (("music", music_share), ("babble", babble_share)):
                if made[extra] < share * at and (extra == "music" or talkers):
                    n = int(rng.uniform(*MUSIC_S) * SAMPLE_RATE)
                    chosen = tuple(talkers[i] for i in rng.integers(len(talkers),
                                                                     size=BABBLE_CLIPS)
                                   ) if extra == "babble" else ()
                    add(Segment(extra, 0, n, _gain(rng), int(rng.integers(2**31)),
                                talkers=chosen))
                    made[extra] += n
                    unique += n / SAMPLE_RATE if extra == "music" else 0.0
            if piece not in used:
                used.add(piece)
                unique += piece.frames / SAMPLE_RATE
            speed = 1.0 if reuse == 0 else float(rng.uniform(*REUSE_SPEED))
            n = max(1, round(piece.frames / speed))
            add(Segment(kind, 0, n, _gain(rng), 0, piece, speed))
            made["noise"] += n if kind == "noise" else 0
            gap = int(rng.uniform(*GAP_S) * SAMPLE_RATE)
            add(Segment("gap", 0, gap, 1.0, int(rng.integers(2**31))))
        reuse += 1
    return NegativeStream(segments, len(speech_files) + len(noise_files), unique, seed)


def _end(segments: list[Segment]) -> int:
    return segments[-1].start + segments[-1].samples if segments else 0


def _gain(rng: np.random.Generator) -> float:
    return float(10 ** (rng.uniform(*GAIN_DB) / 20))


@dataclass
class PositiveBatch:
    """Clips planted together into one stretch of noise, from stream sample ``start``."""

    clips: list[Path]
    noise: int  # index into the stream's noise files (-1: generated pink noise)
    noise_offset: float  # fraction of the noise file where the bed starts
    snr_db: tuple[float, ...]  # one per clip
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
        rng = np.random.default_rng(batch.start)
        if batch.noise < 0:
            return coloured_noise(rng, length / SAMPLE_RATE, 1.0)  # pink
        path = self.noise[batch.noise]
        offset = int(batch.noise_offset * max(0, frames_of(path) - length))
        bed = read_piece(Piece(path, path.name, offset, length))
        return bed if np.any(bed) else coloured_noise(rng, length / SAMPLE_RATE, 1.0)

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


def positive_stream(positives: Sequence[str | os.PathLike[str]], label: str,
                    noise: Sequence[str | os.PathLike[str]] = (), *, seed: int = 0,
                    snr_db: tuple[float, float] = (5.0, 20.0), gap_s: float = 2.0,
                    batch_size: int = 25) -> PositiveStream:
    """Plan (and render once, for the word times) the positive stream: the clips of
    ``positives`` in batches of ``batch_size``, each batch in an excerpt of one noise file
    (generated pink noise without ``noise``), each clip at its own SNR drawn from ``snr_db``
    (over its own speech level: recordings made quieter or louder meet the same range)."""
    clips = collect_audio(positives, "positive")
    noise_files = collect_audio(noise, "noise")
    if not clips:
        raise KwsError("no positive clips given")
    rng = np.random.default_rng(seed)
    order = [clips[i] for i in rng.permutation(len(clips))]
    stream = PositiveStream([], noise_files, [], label, gap_s)
    at = 0
    for first in range(0, len(order), batch_size):
        chosen = order[first:first + batch_size]
        batch = PositiveBatch(chosen, int(rng.integers(len(noise_files))) if noise_files else -1,
                              float(rng.uniform()),
                              tuple(float(x) for x in rng.uniform(*snr_db, size=len(chosen))),
                              at, 0)
        audio, words = stream.render(batch)
        batch.samples = len(audio)
        stream.batches.append(batch)
        stream.words += [replace(w, start_s=w.start_s + at / SAMPLE_RATE,
                                 end_s=w.end_s + at / SAMPLE_RATE) for w in words]
        at += len(audio)
    return stream
