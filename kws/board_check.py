"""What a firmware reports for audio, made readable, and checked against the host.

- :func:`dequantize`: int8 scores -> probabilities with the model's output scale and zero
  point;
- :func:`load_project_audio`: a clip at the rate the project's firmware streams;
- :func:`run_report`: one firmware run's scores and detections as plain data;
- :func:`held_out_examples`, :func:`first_test_clips`, :func:`demo_streams`: real clips
  of unseen speakers to stream;
- :func:`plant_words`, :func:`match_detections`: words spliced into noise at known times,
  and the detections that found them;
- :func:`check_against_host`: the board (firmware under QEMU) and the host build of the
  same application fed the same audio streams, their SCORES and DETECTIONs compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kws.errors import KwsError


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


def held_out_examples(data: str | Path, words: list[str], per_word: int, split: str = "auto",
                      seed: int = 0) -> list[Any]:
    """Up to ``per_word`` test-split examples (:class:`kws.data.Example`) of each word,
    interleaved word by word: clips of speakers the model was not trained on.

    Each word's clips come one speaker after another (every test speaker's first clip by file
    name, speakers in name order, before any speaker's second), so a few clips are a few
    voices, and the same ones whatever ``seed`` (which only picks the speakers of a
    ``"speaker"`` split).
    """
    from kws.data import load_dataset

    splits = load_dataset(data, words, split=split, seed=seed)
    by_word = []
    for word in words:
        clips = sorted((e for e in splits.test if e.label == word), key=lambda e: e.path.name)
        rank: dict[str, int] = {}
        keyed = []
        for ex in clips:
            rank[ex.speaker] = rank.get(ex.speaker, -1) + 1
            keyed.append(((rank[ex.speaker], ex.speaker, ex.path.name), ex))
        by_word.append([ex for _, ex in sorted(keyed, key=lambda k: k[0])][:per_word])
    return [examples[i] for i in range(per_word) for examples in by_word if i < len(examples)]


def first_test_clips(data: str | Path, words: list[str], split: str = "auto", seed: int = 0
                     ) -> list[tuple[str, np.ndarray]]:
    """The first test-split clip of each word, named ``"word (file.wav)"``."""
    from kws.audio import load_audio

    return [(f"{ex.label} ({ex.path.name})", load_audio(ex.path))
            for ex in held_out_examples(data, words, 1, split, seed)]


def demo_noise(data: str | Path, name: str = "pink_noise.wav") -> np.ndarray:
    """A background recording of the dataset (``name`` when present, else the first)."""
    from kws.audio import load_audio
    from kws.data.dataset import BACKGROUND_NOISE_DIR

    folder = Path(data) / BACKGROUND_NOISE_DIR
    files = sorted(folder.glob("*.wav"))
    if not files:
        raise KwsError(f"{folder}: no background noise recordings to plant words into")
    chosen = folder / name if (folder / name).is_file() else files[0]
    return load_audio(chosen)


def demo_streams(clips: list[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
    """Each clip alone, then all of them as one continuous stream (the window slides across
    word boundaries, as it does on a microphone)."""
    if not clips:
        return []
    joined = " + ".join(name.split(" ")[0] for name, _ in clips)
    return [*clips, (joined, np.concatenate([audio for _, audio in clips]))]


def host_app_for(project: dict[str, Any], model_path: Path, *, features: bool = False) -> Any:
    """The host build of the application (:class:`kws.host_app.HostApp`) with the detection
    settings ``project`` (``project.json``) was built with (``features``: report features
    too)."""
    from kws.detector import DetectorSettings
    from kws.host_app import HostApp

    settings = DetectorSettings(int(project["average_count"]), float(project["threshold"]),
                                int(project["suppress_inferences"]),
                                int(project["stride_frames"]))
    # The project's own labels and frontend: the model may have no model.json beside it.
    meta = {"model_file": Path(model_path).name, "labels": project["labels"]}
    if project.get("frontend"):
        meta["frontend"] = project["frontend"]
    return HostApp.from_model(model_path, settings, features=features, meta=meta)


@dataclass(frozen=True)
class PlantedWord:
    """A clip spliced into a stream: its label and where its speech lies (s)."""

    label: str
    start_s: float  # speech start
    end_s: float  # speech end: the end of the word


def _speech_bounds(clip: np.ndarray, rate: int) -> tuple[int, int]:
    """Samples ``[start, end)`` of the speech in ``clip`` (the whole clip when none is found)."""
    from kws.record import TakeSettings, speech_span

    span = speech_span(clip, TakeSettings(), rate)
    return span if span is not None else (0, len(clip))


def plant_words(clips: list[tuple[str, np.ndarray]], noise: np.ndarray, *, gap_s: float = 1.5,
                snr_db: float | Sequence[float] = 20.0, rate: int = 16000
                ) -> tuple[np.ndarray, list[PlantedWord]]:
    """Splice ``(label, int16 clip)`` pairs into looped background ``noise``: ``gap_s`` of
    noise before each clip and after the last.

    ``snr_db`` a number: the noise is scaled to ``snr_db`` below the clips' average speech
    level, the clips keep their own levels.  A sequence (one value per clip): the noise is
    scaled to its mean below the average speech level, and each clip is scaled to its own
    SNR over that noise, so a quiet recording is no harder than its value says.

    Returns
    -------
    tuple
        int16 stream and the :class:`PlantedWord` of each clip, in order.
    """
    per_word = isinstance(snr_db, Sequence)
    snrs = [float(x) for x in snr_db] if isinstance(snr_db, Sequence) else [
        float(snr_db)] * len(clips)
    if len(snrs) != len(clips):
        raise ValueError(f"{len(snrs)} SNRs for {len(clips)} clips")
    gap = int(gap_s * rate)
    total = gap + sum(len(c) + gap for _, c in clips)
    reps = -(-total // max(len(noise), 1))
    bed = np.tile(noise.astype(np.float64), reps)[:total]
    spans = [_speech_bounds(c, rate) for _, c in clips]
    speech = [c[a:b].astype(np.float64) for (_, c), (a, b) in zip(clips, spans, strict=True)]
    speech_rms = float(np.sqrt(np.mean(np.concatenate(speech) ** 2))) if speech else 1.0
    noise_rms = float(np.sqrt(np.mean(bed ** 2))) or 1.0
    bed_scale = (speech_rms / noise_rms) * 10 ** (-float(np.mean(snrs or [0.0])) / 20)
    stream = bed * bed_scale
    words, at = [], gap
    for (label, clip), (a, b), part, snr in zip(clips, spans, speech, snrs, strict=True):
        gain = 1.0
        if per_word:
            own = float(np.sqrt(np.mean(part ** 2))) or 1.0
            gain = noise_rms * bed_scale * 10 ** (snr / 20) / own
        stream[at:at + len(clip)] += clip * gain
        words.append(PlantedWord(label, (at + a) / rate, (at + b) / rate))
        at += len(clip) + gap
    return np.clip(np.round(stream), -32768, 32767).astype(np.int16), words


def match_detections(detections: list[dict[str, Any]], words: list[PlantedWord],
                     max_delay_s: float = 1.0) -> dict[str, Any]:
    """Detections (``time_s``, ``label``) against planted words: a word is found when a
    detection of its label lies in ``[start_s, end_s + max_delay_s]``.

    Returns ``found`` (labels of the words found), ``missed``, ``false`` (detections that
    match no word), ``latencies_s`` (first matching detection minus the end of the word) and
    ``hits`` (per word, in order, its matching detection or None).
    """
    used: set[int] = set()
    found, missed, latencies, hits = [], [], [], []
    for word in words:
        hit = next((i for i, d in enumerate(detections) if i not in used
                    and d["label"] == word.label
                    and word.start_s <= d["time_s"] <= word.end_s + max_delay_s), None)
        hits.append(None if hit is None else detections[hit])
        if hit is None:
            missed.append(word.label)
            continue
        used.add(hit)
        found.append(word.label)
        latencies.append(detections[hit]["time_s"] - word.end_s)
    false = [d for i, d in enumerate(detections) if i not in used]
    return {"found": found, "missed": missed, "false": false, "latencies_s": latencies,
            "hits": hits}


def check_against_host(project_dir: Path, model_path: Path,
                       streams: list[tuple[str, np.ndarray]]) -> list[StreamCheck]:
    """Stream each ``(name, int16 audio)`` through the built firmware under QEMU and through
    the same application built for the host (:mod:`kws.host_app`); compare the SCORES and
    the DETECTIONs."""
    from kws.firmware_project.layout import load_project
    from kws.firmware_project.run import run_project

    project = load_project(project_dir)
    app = host_app_for(project, model_path)
    checks = []
    for name, audio in streams:
        board = run_project(project_dir, audio)
        app.reset()
        host = app.process(audio)
        identical = [b.frame_index for b in board.scores] == host.score_frames.tolist() and all(
            np.array_equal(b.scores, h) for b, h in zip(board.scores, host.scores, strict=True))
        identical = identical and [(d.frame_index, d.label, d.average)
                                   for d in board.detections] == host.detection_list()
        checks.append(StreamCheck(name, len(board.scores), identical,
                                  [project["labels"][d.label] for d in board.detections]))
    return checks


# --- a device against the host, stage by stage -------------------------------------------
