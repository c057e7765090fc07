"""Hard negatives: the windows of a long training-side negative stream that the first model
scores highest, written as training clips for a second round of training.

Training on 1 s clips never shows the model what a stream holds between them: windows that
straddle two words, a word's tail and the next one's onset, speech over music.  The false
accepts per hour a detector reaches are set by the rarest, highest-scoring of the ~36,000
windows an hour holds, which a few hundred clips do not sample.  So (as openWakeWord and
microWakeWord do with their false-positive streams) a stream is built from the *training*
split only (:func:`training_negative_sources`: the held-out voices and speakers the
calibration measures on never enter it), the float model scores every window of it, and
the top windows, at least ``MIN_GAP_S`` apart, become ``_mined_`` clips of the dataset,
in its training split (they are in neither ``validation_list.txt`` nor
``testing_list.txt``).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kws.errors import KwsError
from kws.wakeword.streams import SAMPLE_RATE, NegativeStream

MINED_DIR = "_mined_"
MIN_GAP_S = 0.5  # two mined windows closer than this are the same event
CHUNK_S = 20.0  # audio scored per model call


@dataclass(frozen=True)
class MinedWindow:
    """A window of the stream: the wake word's probability, its first sample, its audio."""

    score: float
    start: int
    audio: np.ndarray  # int16 [window samples]


def training_negative_sources(data: Path, label: str) -> list[Path]:
    """The negative clips of dataset ``data`` in its training split (no held-out voice or
    speaker, no positive)."""
    from kws.data import UNKNOWN_LABEL, load_dataset

    splits = load_dataset(data, [label], unknown_percentage=None, silence_percentage=0)
    return sorted({ex.path for ex in splits.train if ex.label == UNKNOWN_LABEL
                   and ex.path.parent.name != MINED_DIR})


def _windows(audio: np.ndarray, frontend: Any, window_frames: int, stride_frames: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """Float model inputs ``[n, frames, channels]`` of ``audio`` at the firmware's inference
    points (:func:`kws.features.quantize.inference_ends`), and each window's first frame."""
    from kws.features import compute_features, to_model_input
    from kws.features.quantize import inference_ends

    feats = to_model_input(compute_features(audio, frontend), frontend)
    firsts = np.array(inference_ends(len(feats), window_frames, stride_frames),
                      dtype=np.int64) - window_frames
    if len(firsts) == 0:
        return np.zeros((0, window_frames, feats.shape[1]), np.float32), firsts
    index = firsts[:, None] + np.arange(window_frames)[None, :]
    return feats[index], firsts


def score_windows(model: Any, stream: NegativeStream, frontend: Any, wake: int, *,
                  window_frames: int, stride_frames: int, keep: int, min_score: float,
                  progress: Any = None) -> list[MinedWindow]:
    """The ``keep`` highest-scoring windows (probability of class ``wake`` >= ``min_score``)
    of ``stream``, scored by the Keras ``model`` in chunks of :data:`CHUNK_S`."""
    step = frontend.window_step
    window_samples = frontend.window_size + (window_frames - 1) * step
    chunk = int(CHUNK_S * SAMPLE_RATE)
    best: list[tuple[float, int]] = []  # a min-heap of (score, start) of the best so far
    audio: dict[int, np.ndarray] = {}
    buffer, buffer_start = np.zeros(0, np.int16), 0
    blocks = stream.blocks()
    done = False
    while not done:
        block = next(blocks, None)
        done = block is None
        if block is not None:
            buffer = np.concatenate([buffer, block])
            if progress is not None:
                progress(len(block) / SAMPLE_RATE)
        if len(buffer) < (window_samples if done else chunk):
            continue
        x, firsts = _windows(buffer, frontend, window_frames, stride_frames)
        if len(x):
            probs = np.asarray(model(x[..., None], training=False))[:, wake]
            for i in np.flatnonzero(probs >= min_score):
                at = int(firsts[i]) * step
                item = (float(probs[i]), buffer_start + at)
                if len(best) == keep and item <= best[0]:
                    continue
                audio[item[1]] = buffer[at:at + window_samples].copy()
                if len(best) == keep:
                    del audio[heapq.heapreplace(best, item)[1]]
                else:
                    heapq.heappush(best, item)
            consumed = (int(firsts[-1]) + stride_frames) * step
            buffer, buffer_start = buffer[consumed:], buffer_start + consumed
    return [MinedWindow(score, start, audio[start]) for score, start in sorted(best, reverse=True)]


def spread_out(windows: Sequence[MinedWindow], count: int,
               min_gap: int = int(MIN_GAP_S * SAMPLE_RATE)) -> list[MinedWindow]:
    """Up to ``count`` of ``windows`` (best first), none within ``min_gap`` samples of a
    better one: one window per false-accept event."""
    chosen: list[MinedWindow] = []
    for w in sorted(windows, key=lambda w: (-w.score, w.start)):
        if len(chosen) == count:
            break
        if all(abs(w.start - c.start) >= min_gap for c in chosen):
            chosen.append(w)
    return chosen


def mine_hard_negatives(run: Path, data: Path, label: str, *, hours: float, count: int,
                        seed: int, noise: Sequence[Path] = (), min_score: float = 0.05,
                        stride_frames: int = 2, progress: bool = True) -> dict[str, Any]:
    """Write the ``count`` hardest windows of an ``hours``-long training-side negative
    stream to ``data/_mined_/`` (replacing earlier ones) as the Keras model of ``run`` sees
    them; returns counts and the score range for ``wakeword.json``."""
    import json
    import shutil

    import keras
    import soundfile as sf
    from rich.progress import Progress

    from kws.console import make_console
    from kws.features import frontend_from_dict
    from kws.wakeword.streams import negative_stream

    meta = json.loads((run / "train.json").read_text())
    frontend = frontend_from_dict(meta["frontend"])
    wake = list(meta["labels"]).index(label)
    speech = training_negative_sources(data, label)
    if not speech:
        raise KwsError(f"{data}: no training negatives to build a mining stream from")
    stream = negative_stream(speech, [p for p in noise if p.is_dir()], hours=hours,
                             seed=seed + 7919)  # not the calibration stream's seed
    model = keras.models.load_model(run / "model.keras", compile=False)
    console = make_console(stderr=True)
    with Progress(console=console, disable=not (progress and console.is_terminal),
                  transient=True) as bar:
        task = bar.add_task("mining hard negatives", total=stream.seconds)
        best = score_windows(model, stream, frontend, wake,
                             window_frames=int(meta["input_shape"][0]),
                             stride_frames=stride_frames, keep=8 * count, min_score=min_score,
                             progress=lambda s: bar.update(task, advance=s))
    chosen = spread_out(best, count)
    folder = data / MINED_DIR
    tmp = data / f".{MINED_DIR}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for n, window in enumerate(chosen):
        sf.write(tmp / f"mined_nohash_{n:05d}.wav", window.audio, SAMPLE_RATE,
                 subtype="PCM_16")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    scores = [w.score for w in chosen]
    return {"stream_seconds": round(stream.seconds, 1), "windows": len(chosen),
            "score_max": round(max(scores), 4) if scores else None,
            "score_min": round(min(scores), 4) if scores else None,
            "sources": len(speech), "stride_frames": stride_frames}
