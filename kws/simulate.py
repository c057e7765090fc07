"""``kws simulate``: an audio file of any length through the firmware application built for
the host (:mod:`kws.host_app`), in blocks (constant memory), with the detections' times.

A detection's ``time_s`` is the end of the feature window that triggered it (the end of the
feature frame at which the model ran).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kws.errors import KwsError

BLOCK_SAMPLES = 16000


@dataclass
class Trace:
    """Per-inference probabilities and feature frames, kept for a plot."""

    score_times: list[np.ndarray] = field(default_factory=list)
    probabilities: list[np.ndarray] = field(default_factory=list)
    features: list[np.ndarray] = field(default_factory=list)


@dataclass
class Simulation:
    """What one stream gave: detections and timing."""

    detections: list[dict[str, Any]]
    duration_s: float
    wall_s: float
    settings: dict[str, Any]
    labels: list[str]
    inferences: int
    frame_step: int  # samples between feature frames
    sample_rate: int
    trace: Trace | None = None

    @property
    def real_time_factor(self) -> float:
        """Seconds of audio processed per second of wall time."""
        return self.duration_s / self.wall_s if self.wall_s > 0 else float("inf")

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` document: ``detections`` (``time_s``, ``label``, ``score``),
        ``duration_s``, ``real_time_factor``, ``settings``."""
        return {"detections": self.detections, "duration_s": round(self.duration_s, 6),
                "real_time_factor": round(self.real_time_factor, 2),
                "settings": self.settings, "labels": self.labels,
                "inferences": self.inferences}


def probabilities(app: Any, scores: np.ndarray) -> np.ndarray:
    """int8 model outputs of ``app`` as probabilities (float64)."""
    from kws.board_check import dequantize

    return dequantize(scores, app.project["output_scale"], app.project["output_zero_point"])


def detections_of(app: Any, events: Any) -> list[dict[str, Any]]:
    """``events``' detections as ``{"time_s", "frame_index", "label", "score"}`` dicts."""
    times = app.frame_end_s(events.detection_frames)
    scores = probabilities(app, events.detection_averages)
    return [{"time_s": round(float(t), 4), "frame_index": int(f),
             "label": app.labels[int(lab)], "score": round(float(s), 4)}
            for t, f, lab, s in zip(times, events.detection_frames, events.detection_labels,
                                    scores, strict=True)]


def settings_of(app: Any) -> dict[str, Any]:
    """The detection settings ``app`` runs with, plus the derived int8 threshold."""
    return {**app.settings.to_dict(), "threshold_q": int(app.project["threshold_q"]),
            "frames": app.frames, "sample_rate": app.sample_rate}


def run_stream(app: Any, blocks: Iterable[np.ndarray], *, keep_trace: bool = False
               ) -> Simulation:
    """Feed int16 ``blocks`` (at ``app.sample_rate``) through ``app`` from a fresh stream."""
    app.reset()
    trace = Trace() if keep_trace else None
    detections: list[dict[str, Any]] = []
    inferences = samples = 0
    wall = 0.0
    for block in blocks:
        start = time.perf_counter()
        events = app.process(block)
        wall += time.perf_counter() - start
        samples += len(block)
        inferences += len(events.score_frames)
        detections += detections_of(app, events)
        if trace is not None:
            trace.score_times.append(app.frame_end_s(events.score_frames))
            trace.probabilities.append(probabilities(app, events.scores))
            trace.features.append(events.raw_features)
    return Simulation(detections, samples / app.sample_rate, wall, settings_of(app),
                      app.labels, inferences, app.frame_step, app.sample_rate, trace)


def simulate_file(model: str | os.PathLike[str], wav: str | os.PathLike[str], *,
                  plot: bool = False, block_samples: int = BLOCK_SAMPLES,
                  **overrides: Any) -> Simulation:
    """Stream ``wav`` (any rate, any length) through the host app of ``model``.

    ``overrides``: detection settings replacing model.json's (None keeps them).
    ``plot=True`` keeps the features and score traces for :func:`plot_simulation`.
    """
    from kws.audio import iter_audio_blocks
    from kws.host_app import HostApp

    app = HostApp.from_model(model, features=plot, **overrides)
    blocks = iter_audio_blocks(wav, app.sample_rate, block_samples)
    return run_stream(app, blocks, keep_trace=plot)


def plot_simulation(sim: Simulation, out: str | os.PathLike[str]) -> None:
    """PNG: the frontend's spectrogram (librosa's ``specshow``), per-class probability traces
    with the threshold, and the detections."""
    import matplotlib

    matplotlib.use("Agg")
    import librosa.display
    import matplotlib.pyplot as plt

    from kws.fileio import write_atomic

    if sim.trace is None:
        raise KwsError("plot: the simulation kept no trace (run it with plot=True)")
    features = np.concatenate(sim.trace.features) if sim.trace.features else np.zeros((0, 1))
    times = np.concatenate(sim.trace.score_times) if sim.trace.score_times else np.zeros(0)
    probs = (np.concatenate(sim.trace.probabilities) if sim.trace.probabilities
             else np.zeros((0, len(sim.labels))))
    fig, (ax_spec, ax_scores) = plt.subplots(2, 1, figsize=(12, 6), sharex=True)
    librosa.display.specshow(features.T, sr=sim.sample_rate, hop_length=sim.frame_step,
                             x_axis="time", ax=ax_spec, cmap="magma")
    ax_spec.set(title="features (the firmware frontend)", ylabel="channel", xlabel="")
    for i, label in enumerate(sim.labels):
        # matplotlib hides legend entries that start with "_" (_silence_, _unknown_)
        ax_scores.plot(times, probs[:, i], label=label.strip("_"), linewidth=1)
    ax_scores.axhline(sim.settings["threshold"], color="k", linestyle="--", linewidth=0.8,
                      label="threshold")
    for det in sim.detections:
        for ax in (ax_spec, ax_scores):
            ax.axvline(det["time_s"], color="lime", linewidth=1)
        ax_scores.annotate(det["label"], (det["time_s"], 1.02), ha="center", fontsize=8)
    ax_scores.set(xlabel="time (s)", ylabel="probability", ylim=(0, 1.1))
    ax_scores.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    write_atomic(Path(out), lambda f: fig.savefig(f, format="png", dpi=100))
    plt.close(fig)
