"""Detector calibration on streams, not clips: false accepts per hour and false rejects
measured by the firmware's own C application (:class:`kws.host_app.HostApp`).

1. A long negative stream (speech, noise, music-like signals; :mod:`kws.wakeword.streams`)
   and a positive stream (held-out positives planted in noise at known times) each run once
   through the host app; the int8 scores of every inference are kept (the scores do not
   depend on the detection settings, only the stride does, which stays model.json's).
2. Every ``average_count × threshold × suppress_inferences`` candidate is evaluated on the
   kept scores by :class:`kws.wakeword.sweep.RuleMirror`, ``score_average.c`` in numpy:
   FA/h = detections on the negative stream / its hours (any label: the negatives hold no
   wake word); FRR = planted words without a detection of the wake word within ``[start,
   end + 1 s]``.
3. The lowest-FRR candidate with FA/h <= the target is chosen (else the lowest FA/h, and
   ``met`` is False); the C app runs once more with it on both streams and its detections
   must equal the mirror's, detection for detection.

Speed, measured on a 1-hour negative stream (3,600 s from the Speech Commands test subset,
its background noise, generated music and babble; DS-CNN-S on MFCC 49x10, stride 10 frames,
18,000 inferences) on this 2-core machine: the C app took 25.1 s of CPU time (144x real time
per core) and rendering the stream from its files about 4 s of CPU time, so one pass over
the hour costs about 30 s of one core.  The stream runs in parts on all cores
(:mod:`kws.wakeword.scoring`), so on 2 idle cores a pass should take about 15-20 s of wall
time (estimated from the CPU times: the wall times measured, 130-250 s per pass, were those
of a machine running many other jobs, load average 15-24); the confirmation is a second
pass.  The sweep of 5,012 candidates took 0.4-1.8 s; peak memory (max RSS) 121-128 MiB.
"""

from __future__ import annotations

import datetime
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kws.board_check import PlantedWord
from kws.detector import DetectorSettings, detector_section
from kws.errors import KwsError
from kws.wakeword.scoring import (
    StreamScores,
    default_jobs,
    part_count,
    score_parts,
)
from kws.wakeword.streams import NegativeStream, PositiveStream, negative_stream, positive_stream
from kws.wakeword.sweep import (
    DEFAULT_AVERAGES,
    DEFAULT_SUPPRESS,
    TOLERANCE_S,
    Candidate,
    RuleMirror,
    SweepInput,
    choose,
    keyword_mask,
    match_words,
    sweep,
)


@dataclass
class CalibrationResult:
    """The chosen settings, their numbers, and every candidate's (``curve``)."""

    settings: DetectorSettings
    fa_per_hour: float
    frr: float
    hours: float
    positives: int
    curve: list[dict]  # per candidate: settings, fa_per_hour, frr (+ counts)
    met: bool = True  # False: no candidate met the target; the lowest FA/h was chosen
    target_fa_per_hour: float = 0.5
    label: str = ""
    details: dict[str, Any] = field(default_factory=dict)  # streams, timings, examples

    def summary(self) -> dict[str, Any]:
        """The ``calibration`` summary :func:`write_detector_settings` stores in model.json."""
        return {"target_fa_per_hour": self.target_fa_per_hour,
                "fa_per_hour": round(self.fa_per_hour, 4), "frr": round(self.frr, 4),
                "met": self.met, "hours": round(self.hours, 4), "positives": self.positives,
                "label": self.label, "date": datetime.date.today().isoformat()}


def wake_label(labels: Sequence[str], label: str | None, model: Path) -> int:
    """Index of the wake word: ``label``, else the model's only keyword label."""
    keywords = [lab for lab in labels if not lab.startswith("_")]
    if label is None:
        if len(keywords) != 1:
            raise KwsError(f"{model}: the model has keyword labels {', '.join(keywords)}; "
                           "name the wake word (label)")
        label = keywords[0]
    if label not in keywords:
        raise KwsError(f"{model}: {label!r} is not one of the model's keyword labels "
                       f"({', '.join(keywords)})")
    return list(labels).index(label)


def _progress(enabled: bool) -> Any:
    """A progress bar on a terminal's stderr (nothing in a file or pipe: an error stays the
    only line there)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from kws.console import make_console

    console = make_console(stderr=True)
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                    TextColumn("{task.completed:.0f}/{task.total:.0f} s of audio"),
                    TimeRemainingColumn(), console=console,
                    disable=not (enabled and console.is_terminal), transient=True)


def _confirm(model: Path, chosen: Candidate, streams: list[tuple[str, list, StreamScores,
                                                                 RuleMirror]],
             jobs: int, advance: Callable[[float], None]) -> float:
    """The C app with ``chosen`` settings on each stream's parts: its detections must be
    the mirror's.  Returns the CPU time in the app."""
    from kws.host_app import HostApp

    app = HostApp.from_model(model, chosen.settings)
    if int(app.project["threshold_q"]) != chosen.threshold_q:
        raise KwsError(f"{model}: the app's int8 threshold {app.project['threshold_q']} is not "
                       f"the swept {chosen.threshold_q}")
    cpu = 0.0
    s = chosen.settings
    for name, parts, scored, mirror in streams:
        run = score_parts(model, chosen.settings, parts, jobs, advance)
        cpu += run.cpu_s
        want = mirror.detections(s.average_count, chosen.threshold_q, s.suppress_inferences)
        if run.detections != want.as_list(scored.frames):
            raise KwsError(f"{model}: on the {name} stream the C app detected "
                           f"{len(run.detections)} times, the Python mirror of its rule "
                           f"{len(want.index)} times: calibration is not trustworthy")
    return cpu


def sweep_input(app: Any, negative: StreamScores, positive: StreamScores,
                words: Sequence[PlantedWord], wake: int, stride: int | None = None
                ) -> SweepInput:
    """What the sweep needs: both streams' scores (run at ``stride``, default ``app``'s) in
    rule mirrors (``app``'s labels and output quantization), the negative hours, the
    positive stream's times and words."""
    mask = keyword_mask(app.labels)
    return SweepInput(RuleMirror(negative.scores, mask, negative.part_starts),
                      negative.seconds / 3600,
                      RuleMirror(positive.scores, mask, positive.part_starts), positive.times,
                      np.array([w.start_s for w in words]), np.array([w.end_s for w in words]),
                      wake, app.settings.stride_frames if stride is None else stride,
                      float(app.project["output_scale"]),
                      int(app.project["output_zero_point"]))


@dataclass
class _Measurement:
    data: SweepInput
    negative: StreamScores
    candidates: list[Candidate]
    chosen: Candidate
    met: bool
    timings: dict[str, float]


def _measure(path: Path, app: Any, wake: int, neg: NegativeStream, pos: PositiveStream, *,
             jobs: int, progress: bool, target_fa_per_hour: float, averages: Sequence[int],
             suppress: Sequence[int], strides: Sequence[int]) -> _Measurement:
    """Score both streams (once per stride), sweep the candidates, choose, confirm with
    the C app."""
    started = time.perf_counter()
    neg_parts = neg.parts(part_count(neg.seconds, jobs))
    pos_parts = pos.parts(part_count(pos.seconds, jobs))
    runs: dict[int, tuple[SweepInput, StreamScores, StreamScores]] = {}
    candidates: list[Candidate] = []
    with _progress(progress) as bar:
        task = bar.add_task("scoring streams",
                            total=(len(strides) + 1) * (neg.seconds + pos.seconds))

        def advance(seconds: float) -> None:
            bar.advance(task, seconds)

        for stride in strides:  # the scores depend on the stride only
            settings = app.settings.override(stride_frames=stride)
            neg_scores = score_parts(path, settings, neg_parts, jobs, advance)
            pos_scores = score_parts(path, settings, pos_parts, jobs, advance)
            data = sweep_input(app, neg_scores, pos_scores, pos.words, wake, stride)
            runs[stride] = data, neg_scores, pos_scores
            candidates += sweep(data, averages, suppress)
        scored = time.perf_counter()
        chosen, met = choose(candidates, target_fa_per_hour)
        data, neg_scores, pos_scores = runs[chosen.settings.stride_frames]
        swept = time.perf_counter()
        bar.update(task, description="confirming with the C app")
        confirm_cpu = _confirm(path, chosen, [
            ("negative", neg_parts, neg_scores, data.negative),
            ("positive", pos_parts, pos_scores, data.positive)], jobs, advance)
    timings = {"score_start": started, "score_sweep_s": scored - started,
               "choose_s": swept - scored, "confirm_s": time.perf_counter() - swept,
               "confirm_app_cpu_s": confirm_cpu, "jobs": jobs,
               "negative_render_s": neg_scores.render_s,
               "negative_app_wall_s": neg_scores.wall_s, "negative_app_cpu_s": neg_scores.cpu_s,
               "negative_real_time_per_core": neg_scores.seconds / max(neg_scores.cpu_s, 1e-9)}
    return _Measurement(data, neg_scores, candidates, chosen, met, timings)


def _check_goal(target_fa_per_hour: float, hours: float) -> None:
    if not target_fa_per_hour >= 0:
        raise KwsError(f"target false accepts per hour must be 0 or more, not "
                       f"{target_fa_per_hour}")
    if not hours > 0:
        raise KwsError(f"the negative stream must last more than 0 hours, not {hours}")


def calibrate(model: str | os.PathLike[str], *, positives: Sequence[str | os.PathLike[str]],
              negatives: Sequence[str | os.PathLike[str]],
              noise: Sequence[str | os.PathLike[str]] = (), target_fa_per_hour: float = 0.5,
              hours: float = 1.0, seed: int = 0, out_dir: str | os.PathLike[str] | None = None,
              progress: bool = True, label: str | None = None,
              averages: Sequence[int] = DEFAULT_AVERAGES,
              suppress: Sequence[int] = DEFAULT_SUPPRESS, jobs: int | None = None,
              strides: Sequence[int] | None = None) -> CalibrationResult:
    """Choose the detection settings of ``model`` for ``target_fa_per_hour``.

    Parameters
    ----------
    model
        int8 ``.tflite`` with ``model.json`` beside it (labels, frontend, stride).
    positives, negatives, noise
        WAV/FLAC/OGG files or folders of them: held-out clips of the wake word; other speech
        (anything but the wake word); background noise (in the negative stream, and the bed
        the positives are planted in; generated pink noise without it).
    target_fa_per_hour
        False accepts per hour the chosen settings may have on the negative stream.
    hours
        Length of the negative stream (sources are reused with variation when shorter).
    seed
        Makes both streams reproducible.
    out_dir
        Where ``det.png``, ``report.html`` and ``calibration.json`` go (None: nowhere).
    progress
        Show a progress bar (stderr).
    label
        The wake word's label (default: the model's only keyword label).
    averages, suppress
        ``average_count`` and ``suppress_inferences`` values swept; thresholds are every
        int8 step from probability 0.3 up.
    jobs
        Processes that run the streams' parts (default: every CPU this process may use).
    strides
        Feature frames between inferences to try (default: model.json's only).  Each one
        builds the app and runs both streams once more; a shorter stride detects sooner and
        costs the device more inferences.

    Returns
    -------
    CalibrationResult
        model.json is not changed: ``write_detector_settings(model, result.settings,
        result.summary())`` puts the settings there.
    """
    from kws.host_app import HostApp

    started = time.perf_counter()
    path = Path(model)
    _check_goal(target_fa_per_hour, hours)
    app = HostApp.from_model(path)  # model.json's settings: any give the same scores
    wake = wake_label(app.labels, label, path)
    neg = negative_stream(negatives, noise, hours=hours, seed=seed)
    pos = positive_stream(positives, app.labels[wake], noise, seed=seed,
                          gap_s=max(2.0, TOLERANCE_S + 1.0))
    jobs = default_jobs() if jobs is None else max(1, jobs)
    strides = list(dict.fromkeys(strides or [app.settings.stride_frames]))
    m = _measure(path, app, wake, neg, pos, jobs=jobs, progress=progress,
                 target_fa_per_hour=target_fa_per_hour, averages=averages, suppress=suppress,
                 strides=strides)
    m.timings = {"plan_s": m.timings["score_start"] - started, **m.timings,
                 "total_s": time.perf_counter() - started}
    del m.timings["score_start"]
    chosen = m.chosen
    result = CalibrationResult(
        chosen.settings, chosen.fa_per_hour, chosen.frr, m.negative.seconds / 3600,
        len(pos.words), [c.to_dict() for c in m.candidates], m.met, target_fa_per_hour,
        app.labels[wake], {"negative_stream": neg.summary(),
                           "positive_stream": {"seconds": round(pos.seconds, 2),
                                               "words": len(pos.words)},
                           "chosen": chosen.to_dict(),
                           "timings": {k: round(v, 3) for k, v in m.timings.items()}})
    result.details["examples"] = _examples(m.data, chosen, m.negative, app.labels)
    if out_dir is not None:
        from kws.wakeword.report import write_report

        write_report(Path(out_dir), result, neg, pos)
    return result


def _examples(data: SweepInput, chosen: Candidate, neg_scores: StreamScores,
              labels: Sequence[str], limit: int = 4) -> dict[str, list[dict[str, Any]]]:
    """The first ``limit`` false accepts (time, label, probability) and misses (word times)
    of the chosen settings, for the report."""
    s = chosen.settings
    fa = data.negative.detections(s.average_count, chosen.threshold_q, s.suppress_inferences)
    scale, zp = data.scale, data.zero_point
    false_accepts = [{"time_s": round(float(neg_scores.times[i]), 3), "label": labels[lab],
                      "probability": round(float((a - zp) * scale), 4)}
                     for i, lab, a in zip(fa.index[:limit], fa.labels, fa.averages,
                                          strict=False)]
    hits = data.positive.detections(s.average_count, chosen.threshold_q, s.suppress_inferences)
    missed = match_words(data.positive_times[hits.index], hits.labels, data.starts, data.ends,
                         data.wake).missed
    misses = [{"start_s": round(float(data.starts[w]), 3), "end_s": round(float(data.ends[w]), 3)}
              for w in missed[:limit]]
    return {"false_accepts": false_accepts, "misses": misses}


def write_detector_settings(model: str | os.PathLike[str], settings: DetectorSettings,
                            calibration: dict[str, Any]) -> None:
    """Put ``settings`` (model.json's ``detector`` section, and ``stride_frames`` when it
    changed) and the ``calibration`` summary into model.json beside ``model``, atomically;
    ``kws simulate``, ``kws listen`` and ``kws deploy`` then run with them."""
    from kws.fileio import write_json_atomic
    from kws.firmware_project.deploy import model_meta

    path = Path(model)
    settings.check()
    meta = model_meta(path)
    if meta is None:
        raise KwsError(f"{path.with_name('model.json')}: no model.json for {path.name} (export "
                       "the model with kws export first)")
    if settings.stride_frames != DetectorSettings.from_meta(meta).stride_frames:
        meta["stride_frames"] = settings.stride_frames
    meta["detector"] = detector_section(settings)
    meta["calibration"] = dict(calibration)
    write_json_atomic(path.with_name("model.json"), meta)
