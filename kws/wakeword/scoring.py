"""Streams through the firmware's C application built for the host, keeping every
inference's int8 scores, on all cores.

A long stream is cut into contiguous parts (:meth:`NegativeStream.parts`,
:meth:`PositiveStream.parts`) that run in separate processes, each from a fresh app state
(the app's C state is one per process): parts of at most :data:`MAX_PART_S`, at least one
per job.  Each part starts like a device switched on, so the first ``average_count - 1``
inferences of a part cannot detect; :class:`kws.wakeword.sweep.RuleMirror` and the C
confirmation treat the parts the same way.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kws.detector import DetectorSettings
from kws.errors import KwsError

MAX_PART_S = 600.0


@dataclass
class StreamScores:
    """Every inference of one stream: feature frame, int8 scores, end time (s) in the
    stream, and where the parts (fresh app states) begin."""

    frames: np.ndarray  # uint32 [n]: feature frame, counted from its part's start
    scores: np.ndarray  # int8 [n, labels]
    times: np.ndarray  # float64 [n]
    seconds: float
    wall_s: float  # in the C app
    cpu_s: float  # process CPU time in the C app
    render_s: float  # making the audio blocks
    detections: list[tuple[int, int, int]]  # what the app itself detected, part by part
    part_starts: tuple[int, ...] = (0,)  # first inference of each part

    @classmethod
    def join(cls, parts: Sequence[StreamScores], offsets_s: Sequence[float]) -> StreamScores:
        """Parts in order, their times moved by their start in the stream ``offsets_s``."""
        sizes = np.cumsum([0, *(len(p.frames) for p in parts)])
        labels = parts[0].scores.shape[1] if parts else 0
        return cls(np.concatenate([p.frames for p in parts]) if parts else np.zeros(0, np.uint32),
                   np.concatenate([p.scores for p in parts]) if parts
                   else np.zeros((0, labels), np.int8),
                   np.concatenate([p.times + o for p, o in zip(parts, offsets_s, strict=True)])
                   if parts else np.zeros(0),
                   sum(p.seconds for p in parts), sum(p.wall_s for p in parts),
                   sum(p.cpu_s for p in parts), sum(p.render_s for p in parts),
                   [d for p in parts for d in p.detections],
                   tuple(int(s) for s in sizes[:-1]) or (0,))


def score_stream(app: Any, blocks: Iterable[np.ndarray],
                 advance: Callable[[float], None] | None = None) -> StreamScores:
    """Run int16 ``blocks`` through ``app`` from a reset; keep the scores and detections."""
    app.reset()
    frames, scores, detections = [], [], []
    samples, wall, cpu, render = 0, 0.0, 0.0, 0.0
    source = iter(blocks)
    while True:
        start = time.perf_counter()
        block = next(source, None)
        render += time.perf_counter() - start
        if block is None:
            break
        start, start_cpu = time.perf_counter(), time.process_time()
        events = app.process(block)
        wall += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        frames.append(events.score_frames)
        scores.append(events.scores)
        detections += events.detection_list()
        samples += len(block)
        if advance is not None:
            advance(len(block) / app.sample_rate)
    frame_array = np.concatenate(frames) if frames else np.zeros(0, np.uint32)
    score_array = (np.concatenate(scores) if scores
                   else np.zeros((0, len(app.labels)), np.int8))
    return StreamScores(frame_array, score_array, app.frame_end_s(frame_array),
                        samples / app.sample_rate, wall, cpu, render, detections)


def _score_part(job: tuple[Path, DetectorSettings, Any]) -> StreamScores:
    """One part (the app build is cached by the parent)."""
    from kws.host_app import HostApp

    model, settings, part = job
    return score_stream(HostApp.from_model(model, settings), part.blocks())


def _score_in_worker(job: tuple[Path, DetectorSettings, Any], folder: Path, name: str
                     ) -> StreamScores:
    """:func:`_score_part` in a fresh ``python -m kws.wakeword.scoring`` process (the app's
    C state is one per process).  A subprocess rather than multiprocessing: it imports no
    ``__main__`` (scripts need no guard) and forks no threads."""
    job_path, result_path = folder / f"{name}.job", folder / f"{name}.result"
    job_path.write_bytes(pickle.dumps(job))
    proc = subprocess.run([sys.executable, "-m", "kws.wakeword.scoring", str(job_path),
                           str(result_path)], capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not result_path.is_file():
        lines = proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"]
        raise KwsError(f"stream scoring worker failed: {lines[-1]}")
    result = pickle.loads(result_path.read_bytes())
    if isinstance(result, KwsError):
        raise result
    return result


def part_count(seconds: float, jobs: int) -> int:
    """Parts for a stream of ``seconds`` on ``jobs`` processes."""
    return max(jobs, int(np.ceil(seconds / MAX_PART_S)))


def score_parts(model: Path, settings: DetectorSettings, parts: Sequence[Any], jobs: int,
                advance: Callable[[float], None] | None = None) -> StreamScores:
    """Score ``parts`` (objects with ``blocks()``, ``seconds`` and ``offset_s``) with the
    app of ``model`` built with ``settings``, on up to ``jobs`` processes, and join them."""
    from kws.host_app import HostApp

    app = HostApp.from_model(model, settings)  # builds (or finds) the cached extension
    if jobs <= 1 or len(parts) <= 1:
        scored = [score_stream(app, part.blocks(), advance) for part in parts]
    else:
        from concurrent.futures import ThreadPoolExecutor

        # threads only wait: each part runs in its own process
        with tempfile.TemporaryDirectory(prefix="kws-scoring-") as tmp, \
                ThreadPoolExecutor(min(jobs, len(parts))) as pool:
            futures = [pool.submit(_score_in_worker, (model, settings, p), Path(tmp), str(i))
                       for i, p in enumerate(parts)]
            scored = []
            for part, future in zip(parts, futures, strict=True):
                scored.append(future.result())
                if advance is not None:
                    advance(part.seconds)
    return StreamScores.join(scored, [p.offset_s for p in parts])


def default_jobs() -> int:
    """Processes to use: the CPUs this process may run on."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)


def _worker_main(job_path: str, result_path: str) -> None:
    """``python -m kws.wakeword.scoring JOB RESULT``: score one pickled part; a KwsError is
    pickled as the result so the parent raises it as one line."""
    job = pickle.loads(Path(job_path).read_bytes())
    try:
        result: Any = _score_part(job)
    except KwsError as exc:
        result = exc
    Path(result_path).write_bytes(pickle.dumps(result))


if __name__ == "__main__":
    # Through the package module, so results pickle as kws.wakeword.scoring classes.
    from kws.wakeword.scoring import _worker_main as worker_main

    worker_main(sys.argv[1], sys.argv[2])
