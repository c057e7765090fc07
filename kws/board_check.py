"""What a firmware reports for audio, made readable, and checked against the host.

- :func:`dequantize`: int8 scores -> probabilities with the model's output scale and zero
  point;
- :func:`load_project_audio`: a clip at the rate the project's firmware streams;
- :func:`run_report`: one firmware run's scores and detections as plain data;
- :func:`first_test_clips`, :func:`demo_streams`: real clips to stream;
- :func:`check_against_host`: the board (firmware under QEMU) and the host fed the same
  audio streams, their SCORES compared for equality.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


def dequantize(q: Any, scale: float, zero_point: int) -> np.ndarray:
    """Real values of int8 model outputs: ``(q - zero_point) * scale`` (float64)."""
    return (np.asarray(q, dtype=np.int32) - int(zero_point)) * float(scale)


def load_project_audio(path: str | Path, project: dict[str, Any]) -> np.ndarray:
    """int16 mono audio from ``path`` at the sample rate the project's firmware streams."""
    from kws.audio import load_audio

    return load_audio(path, int(project["sample_rate"]))


def run_report(result: Any, project: dict[str, Any]) -> dict[str, Any]:
    """A firmware run (:class:`kws.firmware_project.run.RunResult`) as plain data.

    Returns
    -------
    dict
        ``labels``; ``scores``: per inference ``frame_index``, int8 ``scores``,
        ``probabilities`` (6 decimals) and ``top`` label; ``detections``: ``frame_index``,
        ``label``, int8 ``average`` and its ``probability``; ``features``: FEATURES frames
        received.
    """
    labels = project["labels"]
    scale, zp = project["output_scale"], project["output_zero_point"]
    return {
        "labels": labels,
        "scores": [{"frame_index": s.frame_index, "scores": s.scores.tolist(),
                    "probabilities": [round(float(p), 6)
                                      for p in dequantize(s.scores, scale, zp)],
                    "top": labels[int(s.scores.argmax())]} for s in result.scores],
        "detections": [{"frame_index": d.frame_index, "label": labels[d.label],
                        "average": d.average,
                        "probability": float(dequantize(d.average, scale, zp))}
                       for d in result.detections],
        "features": len(result.features),
    }


@dataclass(frozen=True)
class StreamCheck:
    """One audio stream run on the board and on the host."""

    name: str
    inferences: int  # SCORES the board sent
    identical: bool  # board SCORES == host SCORES, inference for inference
    detections: list[str]  # labels the board detected, in order


def first_test_clips(data: str | Path, words: list[str], split: str = "auto", seed: int = 0
                     ) -> list[tuple[str, np.ndarray]]:
    """The first test-split clip of each word, named ``"word (file.wav)"``."""
    from kws.audio import load_audio
    from kws.data import load_dataset

    splits = load_dataset(data, words, split=split, seed=seed)
    clips = []
    for word in words:
        ex = next((e for e in splits.test if e.label == word), None)
        if ex is not None:
            clips.append((f"{word} ({ex.path.name})", load_audio(ex.path)))
    return clips


def demo_streams(clips: list[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
    """Each clip alone, then all of them as one continuous stream (the window slides across
    word boundaries, as it does on a microphone)."""
    if not clips:
        return []
    joined = " + ".join(name.split(" ")[0] for name, _ in clips)
    return [*clips, (joined, np.concatenate([audio for _, audio in clips]))]


def check_against_host(project_dir: Path, model_path: Path,
                       streams: list[tuple[str, np.ndarray]], engine: str = "tflm"
                       ) -> list[StreamCheck]:
    """Stream each ``(name, int16 audio)`` through the built firmware under QEMU and through
    the host pipeline (:func:`kws.firmware_project.host_pipeline.host_scores` on
    ``engine``); compare the SCORES."""
    from kws.firmware_project.host_pipeline import host_scores
    from kws.firmware_project.layout import load_project
    from kws.firmware_project.run import run_project

    project = load_project(project_dir)
    checks = []
    for name, audio in streams:
        board = run_project(project_dir, audio)
        host = host_scores(audio, project, model_path, engine=engine)
        identical = len(board.scores) == len(host) and all(
            np.array_equal(b.scores, h.scores) for b, h in zip(board.scores, host, strict=True))
        checks.append(StreamCheck(name, len(board.scores), identical,
                                  [project["labels"][d.label] for d in board.detections]))
    return checks
