"""Examples to model input: clip audio, run the frontend (C core), cache on disk, augment.

Audio is kept in memory once loaded (one int16 array per file).  Un-augmented features are
cached as one ``.npy`` per (example list, frontend config, clip length), written atomically,
so a second run loads them instead of recomputing.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kws.audio import DEFAULT_SAMPLE_RATE, load_audio
from kws.data.augment import AugmentConfig, augment_clip
from kws.data.dataset import SILENCE_LABEL, Example
from kws.errors import KwsError
from kws.features import (
    FrontendConfig,
    compute_features,
    num_channels,
    num_frames,
    to_model_input,
)
from kws.fileio import save_npy_atomic

# Bump when the cached content changes meaning (e.g. a new clipping rule).
CACHE_VERSION = 1
CACHE_ENV = "KWS_CACHE_DIR"

_audio_memory: dict[Path, tuple[tuple[int, int], np.ndarray]] = {}
_frontend_calls = 0


def frontend_calls() -> int:
    """How many clips have gone through the frontend in this process (a cache hit adds 0)."""
    return _frontend_calls


def default_cache_dir() -> Path:
    """``$KWS_CACHE_DIR/features`` if set, else ``.cache/kws/features`` in the working folder."""
    base = os.environ.get(CACHE_ENV)
    return (Path(base) if base else Path(".cache") / "kws") / "features"


def _file_key(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise KwsError(f"{path}: file not found") from None
    return st.st_mtime_ns, st.st_size


def file_audio(path: str | os.PathLike[str]) -> np.ndarray:
    """Whole-file int16 16 kHz audio, loaded once and kept in memory (reloaded if the file
    changes)."""
    p = Path(path)
    key = _file_key(p)
    hit = _audio_memory.get(p)
    if hit is not None and hit[0] == key:
        return hit[1]
    audio = load_audio(p, DEFAULT_SAMPLE_RATE)
    audio.setflags(write=False)
    _audio_memory[p] = (key, audio)
    return audio


def clear_audio_memory() -> None:
    """Forget the audio kept in memory."""
    _audio_memory.clear()


def clip_samples(clip_ms: int) -> int:
    """Samples in a clip of ``clip_ms`` at 16 kHz."""
    if clip_ms <= 0:
        raise KwsError(f"clip_ms must be positive, got {clip_ms}")
    return clip_ms * DEFAULT_SAMPLE_RATE // 1000


def load_clip(example: Example, clip_ms: int = 1000) -> np.ndarray:
    """The example's int16 clip: ``clip_ms`` from ``example.start``, zero-padded at the end
    if the file is shorter, scaled by ``example.gain``."""
    n = clip_samples(clip_ms)
    audio = file_audio(example.path)
    piece = audio[example.start : example.start + n]
    clip = np.zeros(n, dtype=np.int16)
    clip[: len(piece)] = piece
    if example.gain != 1.0:
        clip = np.clip(np.round(clip.astype(np.float64) * example.gain), -32768, 32767)
        clip = clip.astype(np.int16)
    return clip


def _model_input(clip: np.ndarray, frontend: FrontendConfig) -> np.ndarray:
    global _frontend_calls
    _frontend_calls += 1
    return to_model_input(compute_features(clip, frontend), frontend)


def label_indices(examples: Sequence[Example], labels: Sequence[str]) -> np.ndarray:
    """int32 index of each example's label in ``labels``."""
    index = {label: i for i, label in enumerate(labels)}
    y = np.empty(len(examples), dtype=np.int32)
    for i, ex in enumerate(examples):
        if ex.label not in index:
            raise KwsError(f"{ex.path}: label {ex.label!r} is not one of {list(labels)}")
        y[i] = index[ex.label]
    return y


def feature_cache_key(
    examples: Sequence[Example], frontend: FrontendConfig, clip_ms: int = 1000
) -> str:
    """Hash of everything the un-augmented features depend on: each file's path, mtime and
    size, the clip start and gain, the frontend config and the clip length."""
    h = hashlib.sha256()
    h.update(
        json.dumps(
            {"version": CACHE_VERSION, "frontend": frontend.to_dict(), "clip_ms": clip_ms},
            sort_keys=True,
        ).encode()
    )
    for ex in examples:
        p = Path(ex.path).resolve()
        mtime, size = _file_key(p)
        h.update(f"\n{p}\0{mtime}\0{size}\0{ex.start}\0{ex.gain!r}".encode())
    return h.hexdigest()[:32]


def _feature_shape(frontend: FrontendConfig, clip_ms: int) -> tuple[int, int]:
    if frontend.sample_rate != DEFAULT_SAMPLE_RATE:
        raise KwsError(
            f"frontend sample_rate {frontend.sample_rate} Hz: datasets are loaded at "
            f"{DEFAULT_SAMPLE_RATE} Hz"
        )
    frames = num_frames(clip_samples(clip_ms), frontend)
    if frames <= 0:
        raise KwsError(f"clip_ms={clip_ms} is shorter than one frontend window")
    return frames, num_channels(frontend)


def _compute(
    examples: Sequence[Example],
    frontend: FrontendConfig,
    clip_ms: int,
    make_clip,
    progress: bool,
    description: str,
) -> np.ndarray:
    frames, channels = _feature_shape(frontend, clip_ms)
    X = np.empty((len(examples), frames, channels), dtype=np.float32)
    for i in _progress(range(len(examples)), progress, description):
        X[i] = _model_input(make_clip(examples[i]), frontend)
    return X


def _progress(items: range, show: bool, description: str) -> Iterator[int]:
    if not show or len(items) < 2:
        yield from items
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), transient=True, console=Console(stderr=True),
    ) as bar:
        task = bar.add_task(description, total=len(items))
        for i in items:
            yield i
            bar.advance(task)


def extract_features(
    examples: Sequence[Example],
    labels: Sequence[str],
    frontend: FrontendConfig,
    *,
    clip_ms: int = 1000,
    cache_dir: str | os.PathLike[str] | None | bool = None,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Un-augmented model input of ``examples``.

    Parameters
    ----------
    examples, labels
        Examples and the label list (``y`` holds indices into it).
    frontend
        A :mod:`kws.features` config (``MicroFrontendConfig`` or ``MfccConfig``).
    clip_ms
        Every clip is padded/trimmed to this length before the frontend.
    cache_dir
        Feature cache folder; ``None``: :func:`default_cache_dir`; ``False``: no cache.
    progress
        Show a rich progress bar (on stderr) while computing.

    Returns
    -------
    X : float32 ``[n, frames, channels]``, ``to_model_input`` applied.
    y : int32 ``[n]``.
    """
    y = label_indices(examples, labels)
    shape = (len(examples), *_feature_shape(frontend, clip_ms))
    cache_file = None
    if cache_dir is not False and examples:
        folder = default_cache_dir() if cache_dir is None or cache_dir is True else Path(cache_dir)
        cache_file = folder / f"{feature_cache_key(examples, frontend, clip_ms)}.npy"
        if cache_file.is_file():
            try:
                X = np.load(cache_file, allow_pickle=False)
                if X.shape == shape and X.dtype == np.float32:
                    return X, y
            except (OSError, ValueError):
                pass  # damaged cache entry: recompute and overwrite it
    X = _compute(
        examples, frontend, clip_ms, lambda ex: load_clip(ex, clip_ms), progress,
        f"features ({len(examples)} clips)",
    )
    if cache_file is not None:
        save_npy_atomic(cache_file, X)
    return X, y


def augmented_epoch(
    examples: Sequence[Example],
    labels: Sequence[str],
    frontend: FrontendConfig,
    background: list[np.ndarray],
    augment: AugmentConfig,
    rng: np.random.Generator,
    *,
    clip_ms: int = 1000,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """A freshly augmented copy of ``examples`` through the frontend (same shapes and order
    as :func:`extract_features`; nothing cached).  ``_silence_`` examples only get
    background noise at a random volume; the others get shift, gain and noise at an SNR."""
    y = label_indices(examples, labels)

    def make_clip(ex: Example) -> np.ndarray:
        return augment_clip(
            load_clip(ex, clip_ms), background, augment, rng,
            silence=ex.label == SILENCE_LABEL, sample_rate=DEFAULT_SAMPLE_RATE,
        )

    X = _compute(
        examples, frontend, clip_ms, make_clip, progress,
        f"augmenting ({len(examples)} clips)",
    )
    return X, y


def augmented_epochs(*args: Any, **kwargs: Any) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless generator of :func:`augmented_epoch` results, one fresh epoch per ``next``;
    takes exactly :func:`augmented_epoch`'s arguments."""
    while True:
        yield augmented_epoch(*args, **kwargs)
