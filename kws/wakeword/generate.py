"""Generate a wake-word dataset on disk, in the Speech Commands layout ``kws train`` reads.

::

    DIR/<label>/<voice>_nohash_<n>.wav           positives (TTS, augmented; the user's takes)
    DIR/_confusable_/<voice>_nohash_<n>.wav      near-miss phrases spoken by the same voices
    DIR/_tts_speech_/<voice>_nohash_<n>.wav      ordinary words spoken by the same voices
    DIR/_speech_/<speaker>_nohash_<n>.wav        other speech, 1 s pieces
    DIR/_recorded_/<file>_nohash_<n>.wav         the user's ``kws record --negative`` audio
    DIR/_background_noise_/*.wav                 given noise, coloured noise, music, babble
    DIR/validation_list.txt, testing_list.txt    whole voices/speakers per split
    DIR/manifest.json                            counts, voices, seed, sources

Every non-label folder is ``_unknown_`` to :func:`kws.data.load_dataset`.  Splits hold out
whole groups (the part before ``_nohash_``: a voice, a speaker, a recorded file).  The same
config and seed give a byte-identical folder; syntheses are cached on disk; clips are made
on ``jobs`` processes.  The folder is built beside ``out_dir`` and renamed into place, so a
failure leaves no partial dataset.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from kws.audio import DEFAULT_SAMPLE_RATE
from kws.data.dataset import BACKGROUND_NOISE_DIR, UNKNOWN_LABEL
from kws.errors import KwsError
from kws.fileio import check_output_dir, write_json_atomic, write_text_atomic
from kws.wakeword import negatives as neg
from kws.wakeword.augment import RealisticConfig
from kws.wakeword.jobs import Job, WorkerSetup, run_job, setup_worker, synthesize_cached
from kws.wakeword.layout import DatasetLayout

MANIFEST_NAME = "manifest.json"
CONFUSABLE_DIR, SPEECH_DIR, RECORDED_DIR = "_confusable_", "_speech_", "_recorded_"
TTS_SPEECH_DIR = "_tts_speech_"
# Engines that take far longer per clip (piper: ~15 clips/s/core against 55-220 for the
# others, see kws.wakeword.tts); each gets at most ``slow_engine_share`` of the syntheses.
# Kokoro (~1 clip/s/core) is slower still but not capped: its 60 neural voices bring the
# variety of timbre the formant engines lack, so it keeps a full engine's share (~30 %).
SLOW_ENGINES = ("piper",)
# An engine's share grows with its voice count up to this many voices: espeak-ng's hundreds
# of variants must not drown the few, more natural voices of the other engines.
ENGINE_WEIGHT_CAP = 8
# Every worker holds the background clips in memory: a given file beyond this is cut.
MAX_NOISE_FILE_S = 300


@dataclass
class GenerateConfig:
    """What :func:`generate_dataset` makes.

    ``positives``/``confusables``/``tts_speech``: clips written; each synthesis of the wake
    word gives ``copies`` augmented clips, each confusable or ordinary-phrase synthesis one.
    ``speech``: at most this many 1 s pieces of other speech from the ``negatives`` folders.
    ``rates``/``pitches``: the TTS grid sampled per synthesis.  ``recording_copies``: a
    training take of the user is written this often (once plain, the rest augmented);
    ``recording_holdout``: share of the takes kept (once, plain) for validation.
    ``splits_percentage``: the share of the voices (speakers, files) of each folder held
    out for validation and for testing.
    """

    word: str
    seed: int = 0
    positives: int = 1500
    confusables: int = 600
    speech: int = 900
    tts_speech: int = 0
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    engines: list[str] | None = None
    cache_dir: Path | None = None
    # The TTS grid: a synthesis is cheap to augment again, costly to make.
    copies: int = 3
    slow_engine_share: float = 0.1
    rates: tuple[float, ...] = (0.8, 0.9, 1.0, 1.1, 1.25)
    pitches: tuple[float, ...] = (0.85, 0.92, 1.0, 1.08, 1.16)
    augment: RealisticConfig = field(default_factory=RealisticConfig)
    # Each generated background file (coloured noise, music, babble) lasts this long.
    noise_seconds: float = 30.0
    # Real takes are few and precious: repeated in training, some kept for validation.
    recording_copies: int = 5
    recording_holdout: float = 0.25
    splits_percentage: tuple[float, float] = (10.0, 10.0)

    def __post_init__(self) -> None:
        for name in ("positives", "copies", "jobs", "recording_copies"):
            if getattr(self, name) < 1:
                raise KwsError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("confusables", "speech", "tts_speech"):
            if getattr(self, name) < 0:
                raise KwsError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not self.rates or not self.pitches or self.noise_seconds < 1:
            raise KwsError("rates and pitches need a value each; noise_seconds must be >= 1")
        val, test = self.splits_percentage
        if not (0 <= val and 0 <= test and val + test < 100 and 0 <= self.recording_holdout < 1):
            raise KwsError(f"splits_percentage {self.splits_percentage} must be >= 0 with a "
                           "sum below 100, recording_holdout in [0, 1)")


def label_of(word: str) -> str:
    """The folder (label) of a wake word: lower case, spaces as ``_`` ("hey kws" -> hey_kws)."""
    label = "_".join(word.lower().split())
    if not label or not all(ch.isalnum() or ch in "_-'" for ch in label) or label[0] == "_":
        raise KwsError(f"wake word {word!r} must be letters, digits and spaces")
    return label


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/kws/tts`` (``~/.cache/kws/tts``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "kws" / "tts"


def _engine_counts(engines: dict[str, int], total: int, slow_share: float) -> dict[str, int]:
    """Syntheses per engine (voice counts capped by ENGINE_WEIGHT_CAP, slow engines capped
    at ``slow_share``), largest-remainder rounded to ``total``."""
    weights = {e: float(min(n, ENGINE_WEIGHT_CAP)) for e, n in engines.items()}
    share = {e: w / sum(weights.values()) for e, w in weights.items()}
    fast = [e for e in share if e not in SLOW_ENGINES]
    excess = sum(max(0.0, s - slow_share) for e, s in share.items() if e in SLOW_ENGINES)
    for e in share:
        if e in SLOW_ENGINES:
            share[e] = min(share[e], slow_share) if fast else share[e]
        elif excess:
            share[e] += excess * weights[e] / sum(weights[f] for f in fast)
    exact = {e: s * total for e, s in share.items()}
    counts = {e: int(math.floor(x)) for e, x in exact.items()}
    for e in sorted(exact, key=lambda e: (counts[e] - exact[e], e))[: total - sum(counts.values())]:
        counts[e] += 1
    return counts


def _tts_plan(rng: np.random.Generator, voices: list[Any], texts: list[str], total: int,
              config: GenerateConfig) -> list[tuple[Any, str, float, float]]:
    """``total`` (voice, text, rate, pitch) draws, voices spread evenly within each engine."""
    by_engine: dict[str, list[Any]] = {}
    for v in voices:
        by_engine.setdefault(v.engine, []).append(v)
    counts = _engine_counts({e: len(vs) for e, vs in by_engine.items()}, total,
                            config.slow_engine_share)
    plan = []
    for engine, vs in by_engine.items():
        order = [vs[i] for i in rng.permutation(len(vs))]
        for i in range(counts[engine]):
            plan.append((order[i % len(order)], texts[int(rng.integers(len(texts)))],
                         float(rng.choice(config.rates)), float(rng.choice(config.pitches))))
    return plan


def _plan_tts(layout: DatasetLayout, plan: list[tuple[Any, str, float, float]], folder: str,
              copies: int, first_index: int) -> list[Job]:
    from kws.wakeword.tts import voice_key

    return [Job(first_index + i,
                tuple(layout.name(folder, voice_key(v), v.engine) for _ in range(copies)),
                tts=(v.engine, v.name, text, rate, pitch))
            for i, (v, text, rate, pitch) in enumerate(plan)]


def _plan_recordings(layout: DatasetLayout, config: GenerateConfig, recordings: Path | None,
                     label: str, rng: np.random.Generator, first_index: int
                     ) -> tuple[list[Job], list[Path]]:
    """Jobs for the user's takes of the word; the rest of ``recordings`` as speech folders."""
    if recordings is None:
        return [], []
    if not recordings.is_dir():
        raise KwsError(f"{recordings}: recordings folder not found")
    takes, others = [], []
    for folder in sorted(p for p in recordings.iterdir() if p.is_dir()):
        if "_".join(folder.name.lower().replace("-", " ").replace("_", " ").split()) == label:
            takes += neg.audio_files(folder)
        elif folder.name != BACKGROUND_NOISE_DIR and not folder.name.startswith("."):
            others.append(folder)
    holdout = max(1, round(len(takes) * config.recording_holdout)) if len(takes) >= 2 else 0
    held = set(rng.permutation(len(takes))[:holdout].tolist())
    jobs = []
    for i, take in enumerate(takes):
        group = f"rec-{neg.safe_name(take.parent.name + '-' + take.stem)}"
        split = "validation" if i in held else "training"
        copies = 1 if i in held else config.recording_copies
        outputs = tuple(layout.name(label, group, "recordings", split) for _ in range(copies))
        jobs.append(Job(first_index + i, outputs, piece=neg.Piece(take, group), raw=1))
    return jobs, others


def _plan_pieces(layout: DatasetLayout, pieces: list[neg.Piece], folder: str, count: int,
                 rng: np.random.Generator, first_index: int) -> list[Job]:
    chosen = [pieces[i] for i in sorted(rng.permutation(len(pieces))[:count].tolist())]
    return [Job(first_index + i, (layout.name(folder, p.group, folder),), piece=p)
            for i, p in enumerate(chosen)]


def _noise(tmp: Path, config: GenerateConfig, rng: np.random.Generator,
           given: list[Path], speech: list[neg.Piece], babble_tts: list[Job],
           setup: WorkerSetup) -> dict[str, np.ndarray]:
    """Write the background folder: given files, coloured noise, music, babble."""
    bank: dict[str, np.ndarray] = {}
    for i, path in enumerate(given):
        frames = neg.frames_of(path)
        cut = frames > MAX_NOISE_FILE_S * DEFAULT_SAMPLE_RATE
        piece = neg.Piece(path, "", 0, MAX_NOISE_FILE_S * DEFAULT_SAMPLE_RATE if cut else 0)
        bank[f"given-{i}-{neg.safe_name(path.stem)}.wav"] = neg.read_piece(piece)
    secs = config.noise_seconds
    for name, exponent in (("white", 0.0), ("pink", 1.0), ("brown", 2.0)):
        bank[f"{name}-noise.wav"] = neg.coloured_noise(rng, secs, exponent)
    for i in range(2):
        bank[f"music-{i}.wav"] = neg.music_like(rng, secs)
    if speech:
        clips = [neg.read_piece(p) for p in speech]
    else:
        clips = [synthesize_cached(setup, job.tts) for job in babble_tts if job.tts]
    if clips:
        bank["babble.wav"] = neg.babble(rng, clips, secs)
    from kws.audio import save_wav

    (tmp / BACKGROUND_NOISE_DIR).mkdir(parents=True)
    for name, audio in bank.items():
        save_wav(tmp / BACKGROUND_NOISE_DIR / name, audio)
    return bank


def _run_jobs(jobs: list[Job], setup: WorkerSetup, workers: int, progress: bool) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("[bold]wake-word data"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, disable=not progress) as bar:
        task = bar.add_task("clips", total=sum(len(j.outputs) for j in jobs))
        if workers <= 1:
            setup_worker(setup)
            for job in jobs:
                bar.advance(task, run_job(job))
            return
        with ProcessPoolExecutor(workers, mp_context=_mp_context(),
                                 initializer=setup_worker, initargs=(setup,)) as pool:
            futures = [pool.submit(run_job, job) for job in jobs]
            try:
                for future in as_completed(futures):
                    bar.advance(task, future.result())
            except BaseException:
                # Stop at the first error (or Ctrl-C): queued jobs are dropped, not run.
                pool.shutdown(wait=True, cancel_futures=True)
                raise


def _mp_context() -> Any:
    """Fork (fast, works from any script) unless TensorFlow's threads are already running
    in this process: a fork would copy their locks mid-use."""
    import multiprocessing
    import sys

    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and "tensorflow" not in sys.modules:
        return get_context("fork")
    return get_context("forkserver" if "forkserver" in methods else "spawn")


def generate_dataset(config: GenerateConfig, out_dir: Path, *, recordings: Path | None = None,
                     negatives: Sequence[Path] = (), noise: Sequence[Path] = (),
                     progress: bool = True) -> dict[str, Any]:
    """Generate the wake-word dataset of ``config`` into ``out_dir``.

    Parameters
    ----------
    config
        Word, seed, counts, engines, cache.
    out_dir
        Destination; absent, empty or an earlier output (holding ``manifest.json``), which
        is replaced.
    recordings
        The user's takes (``kws record`` layout): ``<word>/`` folder positives, other
        folders other speech, ``_background_noise_/`` (``kws record --negative``) both
        background noise and 1 s negatives.
    negatives
        Folders of other speech (Speech Commands layout or plain audio folders); their
        ``_background_noise_`` files join the noise.
    noise
        Noise files (or folders of them) for the background folder and the augmentation.
    progress
        Show a progress bar.

    Returns
    -------
    dict
        The manifest (also written to ``out_dir/manifest.json``).
    """
    from kws.wakeword.tts import installed_voices

    label = label_of(config.word)
    out = check_output_dir(out_dir, MANIFEST_NAME, what="dataset folder")
    voices = installed_voices(config.engines)
    if not voices:
        raise KwsError("no TTS voices installed (see `kws voices`; espeak-ng is in Debian)")
    rng = np.random.default_rng(config.seed)
    speech_folders = [Path(p) for p in negatives]
    plan = _plan(config, label, voices, rng, recordings, speech_folders)
    given_noise = _noise_inputs(noise, speech_folders, recordings)
    splits = plan.layout.split_lists()

    tmp = out.parent / f".{out.name}.generating-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        setup = WorkerSetup(tmp, config.cache_dir or default_cache_dir(), config.seed,
                            config.augment, [])
        babble_from = [j.piece for j in plan.speech[:48] if j.piece is not None]
        bank = _noise(tmp, config, rng, given_noise, babble_from, plan.confusable[:24], setup)
        setup.noise_bank = list(bank.values())
        _run_jobs(plan.jobs, setup, min(config.jobs, len(plan.jobs)), progress)
        for split, paths in splits.items():
            write_text_atomic(tmp / f"{split}_list.txt", "".join(f"{p}\n" for p in paths))
        manifest = _manifest(config, label, plan, voices, splits, bank, recordings=recordings,
                             negatives=speech_folders, noise=given_noise)
        write_json_atomic(tmp / MANIFEST_NAME, manifest)
        _replace_dir(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest


@dataclass
class _Plan:
    """Every clip to write, by source; ``jobs`` in the order their indices run."""

    layout: DatasetLayout
    jobs: list[Job]
    confusable: list[Job]
    speech: list[Job]


def _plan(config: GenerateConfig, label: str, voices: list[Any], rng: np.random.Generator,
          recordings: Path | None, speech_folders: list[Path]) -> _Plan:
    """Positives (TTS, then the user's takes), confusables, other speech, recorded noise."""
    from kws.wakeword.confusable import confusable_phrases, ordinary_phrases, phrase_variants

    layout = DatasetLayout(config.seed, config.splits_percentage)
    n_syn = math.ceil(config.positives / config.copies)
    jobs = _plan_tts(layout, _tts_plan(rng, voices, phrase_variants(config.word), n_syn, config),
                     label, config.copies, 0)
    confusable: list[Job] = []
    texts = confusable_phrases(config.word, min(config.confusables, 200), seed=config.seed)
    if texts:
        drawn = _tts_plan(rng, voices, texts, config.confusables, config)
        confusable = _plan_tts(layout, drawn, CONFUSABLE_DIR, 1, len(jobs))
    jobs += confusable
    ordinary = ordinary_phrases(config.word, config.tts_speech, seed=config.seed)
    if ordinary:
        drawn = _tts_plan(rng, voices, ordinary, config.tts_speech, config)
        jobs += _plan_tts(layout, drawn, TTS_SPEECH_DIR, 1, len(jobs))
    takes, other_folders = _plan_recordings(layout, config, recordings, label, rng, len(jobs))
    jobs += takes
    pieces = neg.speech_pieces([*speech_folders, *other_folders], exclude_labels=[label])
    speech = _plan_pieces(layout, pieces, SPEECH_DIR, config.speech, rng, len(jobs))
    jobs += speech
    if recordings is not None and (recordings / BACKGROUND_NOISE_DIR).is_dir():
        recorded = neg.speech_pieces([recordings / BACKGROUND_NOISE_DIR], exclude_labels=[])
        jobs += _plan_pieces(layout, recorded, RECORDED_DIR, config.speech, rng, len(jobs))
    return _Plan(layout, jobs, confusable, speech)


def _noise_inputs(noise: Sequence[Path], speech_folders: list[Path],
                  recordings: Path | None) -> list[Path]:
    """Given noise files (folders expanded), then the background files of the speech folders
    and of the recordings, each once."""
    files: list[Path] = []
    for item in map(Path, noise):
        if item.is_dir():
            files += neg.audio_files(item)
        elif item.is_file():
            files.append(item)
        else:
            raise KwsError(f"{item}: noise file not found")
    files += neg.noise_files([*speech_folders, *([recordings] if recordings else [])])
    return list(dict.fromkeys(files))


def _replace_dir(tmp: Path, out: Path) -> None:
    """Move the finished ``tmp`` onto ``out`` (an earlier output there is removed)."""
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


def _manifest(config: GenerateConfig, label: str, plan: _Plan, voices: list[Any],
              splits: dict[str, list[str]], bank: dict[str, np.ndarray], *,
              recordings: Path | None, negatives: list[Path], noise: list[Path]
              ) -> dict[str, Any]:
    counts = Counter(e.folder for e in plan.layout.entries)
    used = sorted({f"{j.tts[0]}:{j.tts[1]}" for j in plan.jobs if j.tts is not None})
    engines = Counter(j.tts[0] for j in plan.jobs if j.tts is not None)
    cfg = {k: v for k, v in asdict(config).items() if k not in ("jobs", "cache_dir")}
    return {
        "word": config.word, "label": label, "seed": config.seed,
        "labels": ["_silence_", UNKNOWN_LABEL, label],
        "counts": dict(sorted(counts.items())),
        "background_noise": sorted(bank),
        "splits": {s: len(p) for s, p in splits.items()},
        "voices_installed": len(voices), "voices_used": used,
        "syntheses_per_engine": dict(sorted(engines.items())),
        "sources": {"recordings": str(recordings) if recordings else None,
                    "negatives": [str(p) for p in negatives], "noise": [str(p) for p in noise]},
        "config": json.loads(json.dumps(cfg)),
    }
