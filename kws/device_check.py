"""A device (a board over its serial port, or the emulated board over TCP) checked against
the host, clip by clip and stage by stage: ``kws compare --port|--qemu``.

- :func:`host_outputs`: the host side (the application built for the host): audio ->
  features, scores, detections;
- :func:`device_outputs`: the same from a device over a :class:`kws.link.Link`;
- :func:`compare_device`: every clip through both, compared for equality.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kws.board_check import load_project_audio
from kws.errors import KwsError


@dataclass
class PipelineOutputs:
    """What one pipeline produced for one audio stream, stage by stage."""

    features_raw: np.ndarray  # [frames, values] raw frontend output
    features_q: np.ndarray  # int8 [frames, values] quantized model input values
    scores: list[Any]  # protocol.Scores, one per inference
    detections: list[tuple[int, int, int]]  # (frame_index, label, int8 average)


def host_outputs(audio: np.ndarray, project: dict[str, Any], model_path: str | Path
                 ) -> PipelineOutputs:
    """The host pipeline's features, scores and detections for int16 ``audio``: the
    firmware application itself built for the host (:class:`kws.host_app.HostApp`) with
    the project's detection settings."""
    from kws.board_check import host_app_for

    app = host_app_for(project, Path(model_path), features=True)
    app.reset()
    events = app.process(audio)
    return PipelineOutputs(events.raw_features, events.features, events.score_list(),
                           events.detection_list())


def _first_difference(host: PipelineOutputs, device: PipelineOutputs
                      ) -> dict[str, Any] | None:
    """The first stage, frame and tensor where ``device`` differs from ``host``."""
    for what, h_all, d_all in (("raw features", host.features_raw, device.features_raw),
                               ("quantized features", host.features_q, device.features_q)):
        for i in range(max(len(h_all), len(d_all))):
            h = h_all[i].tolist() if i < len(h_all) else None
            d = d_all[i].tolist() if i < len(d_all) else None
            if h != d:
                return {"stage": "features", "tensor": what, "frame_index": i + 1,
                        "host": h, "device": d}
    for i in range(max(len(host.scores), len(device.scores))):
        h = _scores_row(host.scores, i)
        d = _scores_row(device.scores, i)
        if h != d:
            return {"stage": "scores", "tensor": "model output", "inference": i + 1,
                    "host": h, "device": d}
    if host.detections != device.detections:
        return {"stage": "detections", "tensor": "(frame_index, label, average)",
                "host": host.detections, "device": device.detections}
    return None


def _scores_row(scores: list[Any], i: int) -> dict[str, Any] | None:
    if i >= len(scores):
        return None
    return {"frame_index": int(scores[i].frame_index), "scores": scores[i].scores.tolist()}


def stage_mismatches(host: PipelineOutputs, device: PipelineOutputs) -> dict[str, int]:
    """Per stage, how many items differ: feature frames (raw or quantized, a missing frame
    counts), score vectors (by position, with frame index) and detections (present on one
    side only)."""
    frames = max(len(host.features_q), len(device.features_q))
    features = sum(
        i >= min(len(host.features_q), len(device.features_q))
        or not np.array_equal(host.features_raw[i], device.features_raw[i])
        or not np.array_equal(host.features_q[i], device.features_q[i])
        for i in range(frames))
    scores = sum(_scores_row(host.scores, i) != _scores_row(device.scores, i)
                 for i in range(max(len(host.scores), len(device.scores))))
    detections = len(set(host.detections) ^ set(device.detections))
    return {"features": int(features), "scores": int(scores), "detections": detections}


class LinkCorrupted(KwsError):
    """Bytes from the device were lost or damaged in transit: a clip's results are
    incomplete (streaming it again usually helps)."""


def wait_for_info(link: Any, timeout: float = 30.0) -> Any:
    """The device's INFO: its boot INFO if it comes, else asked for with INFO_REQUEST every
    second (a board that booted before the port opened)."""
    import time

    from kws import protocol
    from kws.link import LinkLost

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            frame = link.receive(1.0)
        except LinkLost:
            raise
        except KwsError:  # quiet for a second: a board that booted before the port opened
            link.send(protocol.INFO_REQUEST)
            continue
        if frame.type == protocol.INFO:
            return protocol.decode_info(frame.payload)
    raise KwsError(f"{link.url}: no INFO from the device within {timeout:g} s")


def device_outputs(link: Any, audio: np.ndarray, chunk: int = 512, in_flight: int = 4,
                   timeout: float = 20.0) -> PipelineOutputs:
    """Stream int16 ``audio`` to the device as AUDIO frames after a RESET; its FEATURES,
    SCORES and DETECTIONs.

    A PING follows each AUDIO frame; at most ``in_flight`` of them wait for their ACK at a
    time, which paces the stream to the device, and the last ACK says everything before it
    is done.  A frame the link corrupted (the parser dropped or skipped bytes) raises
    :class:`LinkCorrupted`: the clip's results are incomplete.
    """
    from collections import deque

    from kws import protocol

    seen: list[Any] = []
    damaged = link.parser.dropped + link.parser.skipped
    link.request(protocol.RESET, b"", protocol.ACK, seen, timeout)
    pings: deque[int] = deque()
    for start in range(0, len(audio), chunk):
        link.send(protocol.AUDIO, protocol.audio_payload(audio[start : start + chunk]))
        pings.append(link.send(protocol.PING))
        while len(pings) > (in_flight if start + chunk < len(audio) else 0):
            link.wait_for(protocol.ACK, pings.popleft(), seen, timeout)
    if link.parser.dropped + link.parser.skipped != damaged:
        raise LinkCorrupted(f"{link.url}: the link corrupted frames of a clip "
                            f"({link.parser.dropped} dropped so far)")
    for frame in seen:
        if frame.type == protocol.ERROR:
            code, text = protocol.decode_error(frame.payload)
            raise KwsError(f"{link.url}: device reported {text!r} (code {code})")
        if frame.type == protocol.INFO:
            raise KwsError(f"{link.url}: the device restarted in the middle of a clip")
    features = [protocol.decode_features(f.payload) for f in seen
                if f.type == protocol.FEATURES]
    scores = [protocol.decode_scores(f.payload) for f in seen if f.type == protocol.SCORES]
    detections = [protocol.decode_detection(f.payload) for f in seen
                  if f.type == protocol.DETECTION]
    width = features[0].raw.size if features else 0
    return PipelineOutputs(
        np.array([f.raw for f in features]).reshape(len(features), width),
        np.array([f.quantized for f in features], np.int8).reshape(len(features), width),
        scores, [(d.frame_index, d.label, d.average) for d in detections])


def _device_outputs_retried(link: Any, audio: np.ndarray, in_flight: int,
                            attempts: int = 3) -> PipelineOutputs:
    for _ in range(attempts - 1):
        try:
            return device_outputs(link, audio, in_flight=in_flight)
        except LinkCorrupted:
            continue  # stream the clip again
    return device_outputs(link, audio, in_flight=in_flight)


def compare_device(link: Any, project: dict[str, Any], model_path: Path,
                   clips: list[Path], device: str, progress: bool = False,
                   in_flight: int = 4) -> dict[str, Any]:
    """Stream every clip to the device behind ``link`` and through the host pipeline
    (:func:`host_outputs`); compare features, scores and detections for equality.

    Returns
    -------
    dict
        The engine comparison's shape (``model``, ``inputs``, ``pairs`` with one pair
        ``host``/``device`` counting score tensors) plus ``mismatches`` per stage
        (``features``, ``scores``, ``detections``), ``clips``, ``mismatched_clips``,
        ``first_mismatch`` (clip, stage, frame/tensor, both values; ``None`` when equal)
        and ``detections`` (how many the device reported).  ``in_flight``: see
        :func:`device_outputs`.
    """
    import hashlib

    from rich.progress import Progress

    from kws import protocol
    from kws.engines import compare_outputs
    from kws.firmware_project.run import check_info

    if hashlib.sha256(Path(model_path).read_bytes()).hexdigest() != project["model_sha256"]:
        raise KwsError(f"{model_path}: not the model the device's project was built from "
                       f"({project['model_file']})")
    info = wait_for_info(link)
    check_info(info, project, link.url)
    flags = protocol.OPTION_SEND_FEATURES | protocol.OPTION_SEND_SCORES
    link.request(protocol.SET_OPTIONS, bytes([flags | protocol.OPTION_HOST_AUDIO]),
                 protocol.ACK)
    totals = {"features": 0, "scores": 0, "detections": 0}
    host_all: list[np.ndarray] = []
    device_all: list[np.ndarray] = []
    first: dict[str, Any] | None = None
    bad: list[str] = []
    detected = 0
    with Progress(transient=True, disable=not progress) as bar:
        task = bar.add_task(device, total=len(clips))
        for clip in clips:
            audio = load_project_audio(clip, project)
            host = host_outputs(audio, project, model_path)
            dev = _device_outputs_retried(link, audio, in_flight)
            counts = stage_mismatches(host, dev)
            totals = {k: totals[k] + counts[k] for k in totals}
            detected += len(dev.detections)
            n = min(len(host.scores), len(dev.scores))
            host_all += [s.scores for s in host.scores[:n]]
            device_all += [s.scores for s in dev.scores[:n]]
            if any(counts.values()):
                bad.append(str(clip))
                first = first or {"clip": str(clip), **(_first_difference(host, dev) or {})}
            bar.advance(task)
    pair = {"a": "host", "b": device, **compare_outputs(host_all, device_all)}
    pair["mismatched_tensors"] = totals["scores"]  # also counts missing or extra vectors
    return {"model": str(model_path), "inputs": len(clips), "pairs": [pair],
            "mismatches": totals, "clips": len(clips), "mismatched_clips": bad,
            "first_mismatch": first, "detections": detected}
