"""The unit of work of :mod:`kws.wakeword.generate`: one source clip (a TTS synthesis or a
piece of a file) written as one or more augmented 1 s clips.

Jobs run in worker processes; each job's random numbers come from ``(seed, job index,
copy)``, so the result does not depend on which worker runs it or when.  Syntheses are
cached on disk by (engine, voice, text, rate, pitch, sample rate).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kws.audio import DEFAULT_SAMPLE_RATE, float_to_int16, save_wav
from kws.fileio import save_npy_atomic
from kws.wakeword.augment import RealisticConfig, place_in_window, realistic
from kws.wakeword.negatives import Piece, read_piece

# Bump when synthesize() output changes for the same arguments (invalidates the cache).
CACHE_VERSION = 1

TtsRequest = tuple[str, str, str, float, float]  # engine, voice, text, rate, pitch


@dataclass(frozen=True)
class Job:
    """Write ``outputs`` (paths relative to the dataset folder) from one source.

    The source is ``tts`` (engine, voice, text, rate, pitch) or ``piece``; the first ``raw``
    outputs are the source as is (placed in the window), the others augmented.
    """

    index: int
    outputs: tuple[str, ...]
    tts: TtsRequest | None = None
    piece: Piece | None = None
    raw: int = 0


@dataclass
class WorkerSetup:
    """What every worker needs: where to write, the cache, the seed, the augmentation and
    the int16 background clips to mix in."""

    out_dir: Path
    cache_dir: Path
    seed: int
    augment: RealisticConfig
    noise_bank: list[np.ndarray] = field(default_factory=list)


_setup: WorkerSetup | None = None


def setup_worker(setup: WorkerSetup) -> None:
    """Process initializer: keep ``setup`` for :func:`run_job`."""
    global _setup
    _setup = setup


def cache_path(cache_dir: Path, request: TtsRequest,
               sample_rate: int = DEFAULT_SAMPLE_RATE) -> Path:
    """Where the synthesis ``request`` is cached."""
    engine, voice, text, rate, pitch = request
    key = json.dumps([CACHE_VERSION, engine, voice, text, float(rate), float(pitch),
                      sample_rate])
    digest = hashlib.sha1(key.encode()).hexdigest()
    return cache_dir / digest[:2] / f"{digest}.npy"


def synthesize_cached(setup: WorkerSetup, request: TtsRequest) -> np.ndarray:
    """float32 audio of ``request``, from the cache or synthesized (and then cached)."""
    from kws.wakeword.tts import Voice, synthesize

    path = cache_path(setup.cache_dir, request)
    if path.is_file():
        try:
            audio = np.load(path, allow_pickle=False)
            if audio.dtype == np.float32 and audio.ndim == 1 and audio.size:
                return audio
        except (OSError, ValueError):
            pass  # a damaged entry is simply made again
    engine, voice, text, rate, pitch = request
    audio = synthesize(Voice(engine, voice), text, rate=rate, pitch=pitch,
                       sample_rate=DEFAULT_SAMPLE_RATE).astype(np.float32)
    try:
        save_npy_atomic(path, audio)
    except OSError:
        pass  # a read-only cache only costs speed
    return audio


def run_job(job: Job) -> int:
    """Write the clips of ``job``; returns how many."""
    setup = _setup
    if setup is None:
        raise RuntimeError("run_job called before setup_worker")
    if job.tts is not None:
        audio = synthesize_cached(setup, job.tts)
    elif job.piece is not None:
        audio = read_piece(job.piece)
    else:
        raise ValueError(f"job {job.index} has no source")
    for copy, rel in enumerate(job.outputs):
        if copy < job.raw:
            clip = place_in_window(audio, DEFAULT_SAMPLE_RATE, 0)
            clip = clip if clip.dtype == np.int16 else float_to_int16(clip)
        else:
            rng = np.random.default_rng([setup.seed, job.index, copy])
            clip = realistic(audio, rng, setup.noise_bank, setup.augment)
        path = setup.out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        save_wav(path, clip)
    return len(job.outputs)
