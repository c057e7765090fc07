"""The calibration's outputs: ``det.png`` (the DET curve), ``report.html`` (self-contained:
settings, numbers, the curve and spectrograms of misses and false accepts embedded as
base64 PNGs) and ``calibration.json`` (the result with every candidate), all written
atomically."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kws.fileio import write_atomic, write_json_atomic, write_text_atomic

if TYPE_CHECKING:
    from kws.wakeword.calibrate import CalibrationResult
    from kws.wakeword.streams import NegativeStream, PositiveStream

SAMPLE_RATE = 16000


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The (FA/h, FRR) points no other point beats on both, by rising FA/h."""
    front: list[tuple[float, float]] = []
    for fa, frr in sorted(set(points)):
        if not front or frr < front[-1][1]:
            front.append((fa, frr))
    return front


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def det_curve_png(result: CalibrationResult) -> bytes:
    """PNG of FRR against FA/h (log axes) for every candidate, their lower envelope, the
    target and the chosen point.  A log axis has no 0: FA/h of 0 is drawn at half of one
    false accept in the stream (or half the target, if lower), an FRR of 0 at half of one
    miss."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    floor_fa = 0.5 / max(result.hours, 1e-9)
    if result.target_fa_per_hour > 0:
        floor_fa = min(floor_fa, 0.5 * result.target_fa_per_hour)
    floor_frr = 0.5 / max(result.positives, 1)

    def xy(fa: float, frr: float) -> tuple[float, float]:
        return max(fa, floor_fa), max(frr, floor_frr)

    points = [(c["fa_per_hour"], c["frr"]) for c in result.curve]
    fig, ax = plt.subplots(figsize=(7, 5))
    if points:
        ax.scatter(*zip(*(xy(*p) for p in points), strict=True), s=4, color="0.75",
                   label="candidates")
        ax.plot(*zip(*(xy(*p) for p in pareto_front(points)), strict=True), color="C0",
                drawstyle="steps-post", label="best trade-offs")
    ax.axvline(max(result.target_fa_per_hour, floor_fa), color="C3", linestyle="--",
               linewidth=1, label=f"target {result.target_fa_per_hour:g} FA/h")
    s = result.settings
    ax.scatter(*xy(result.fa_per_hour, result.frr), s=80, marker="*", color="C1", zorder=5,
               label=f"chosen: average {s.average_count}, threshold {s.threshold:.3f}, "
               f"suppress {s.suppress_inferences}")
    ax.set(xscale="log", yscale="log", xlabel="false accepts per hour",
           ylabel="false reject rate",
           title=f"DET: {result.label}, {result.hours:.2f} h of negatives, "
           f"{result.positives} planted words")
    ax.grid(True, which="both", alpha=0.3)
    ax.annotate(f"0 FA/h drawn at {floor_fa:.3g}, FRR 0 at {floor_frr:.3g}", (0.01, 0.01),
                xycoords="axes fraction", fontsize=7, color="0.4")
    ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0.0, 0.05))
    fig.tight_layout()
    return _png(fig)


def spectrogram_png(audio: np.ndarray, title: str, marks: list[float],
                    offset_s: float) -> bytes:
    """PNG of ``audio``'s spectrogram with vertical lines at stream times ``marks``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.4))
    with np.errstate(divide="ignore"):  # digital silence: log of 0 power is drawn as -inf
        ax.specgram(audio.astype(np.float64) / 32768, NFFT=512, Fs=SAMPLE_RATE, noverlap=384,
                    cmap="magma", xextent=(offset_s, offset_s + len(audio) / SAMPLE_RATE))
    for mark in marks:
        ax.axvline(mark, color="lime", linewidth=1)
    ax.set(title=title, xlabel="stream time (s)", ylabel="Hz")
    fig.tight_layout()
    return _png(fig)


def _examples(result: CalibrationResult, neg: NegativeStream, pos: PositiveStream
              ) -> list[tuple[str, bytes]]:
    """Captions and spectrogram PNGs of the chosen settings' false accepts and misses."""
    out = []
    examples = result.details.get("examples", {})
    for fa in examples.get("false_accepts", []):
        t = fa["time_s"]
        start = max(0.0, t - 1.5)
        caption = (f"false accept at {t:.2f} s of the negative stream: {fa['label']} "
                   f"(average probability {fa['probability']:.3f}); the line marks the end "
                   "of the window that triggered")
        out.append((caption, spectrogram_png(neg.excerpt(start, t + 0.3), "false accept",
                                             [t], start)))
    for miss in examples.get("misses", []):
        start = max(0.0, miss["start_s"] - 0.3)
        caption = (f"missed word at {miss['start_s']:.2f}-{miss['end_s']:.2f} s of the "
                   "positive stream (lines: speech start and end)")
        audio = pos.excerpt(start, miss["end_s"] + 1.0)
        out.append((caption, spectrogram_png(audio, "miss", [miss["start_s"], miss["end_s"]],
                                             start)))
    return out


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(rows: list[tuple[str, Any]]) -> str:
    cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                    for k, v in rows)
    return f"<table>{cells}</table>"


def report_html(result: CalibrationResult, det_png: bytes,
                examples: list[tuple[str, bytes]]) -> str:
    """The self-contained HTML report."""
    s, d = result.settings, result.details
    verdict = ("meets the target" if result.met else
               "does NOT meet the target: no candidate did, the lowest FA/h was chosen")
    chosen = d.get("chosen", {})
    numbers = [("wake word", result.label),
               ("target", f"{result.target_fa_per_hour:g} false accepts per hour"),
               ("false accepts per hour", f"{result.fa_per_hour:.3f} "
                f"({chosen.get('false_accepts', '?')} in {result.hours:.3f} h)"),
               ("false reject rate", f"{100 * result.frr:.2f} % "
                f"({chosen.get('misses', '?')} of {result.positives} planted words)"),
               ("positive-stream detections that found no word",
                chosen.get("positive_extra", "?")),
               ("result", verdict)]
    settings = [("average_count", s.average_count), ("threshold", f"{s.threshold:.6g}"),
                ("threshold (int8)", chosen.get("threshold_q", "?")),
                ("suppress_inferences", s.suppress_inferences),
                ("stride_frames", s.stride_frames), ("candidates swept", len(result.curve))]
    streams = [(f"negative {k}", v) for k, v in d.get("negative_stream", {}).items()]
    streams += [(f"positive {k}", v) for k, v in d.get("positive_stream", {}).items()]
    timings = list(d.get("timings", {}).items())
    figures = "".join(f"<figure>{_img(png, caption)}<figcaption>{html.escape(caption)}"
                      "</figcaption></figure>" for caption, png in examples)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>kws calibration: {html.escape(result.label)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}
th{{text-align:left;padding-right:1em}}figure{{display:inline-block;margin:0.5em}}
figcaption{{max-width:36em;font-size:small}}</style></head><body>
<h1>Detector calibration: {html.escape(result.label)}</h1>
<p>Streams run through the firmware's C application built for the host; every candidate
setting evaluated on its kept scores by a mirror of <code>score_average.c</code>, the chosen
one confirmed by the C application.</p>
<h2>Result</h2>{_table(numbers)}
<h2>Chosen settings</h2>{_table(settings)}
<h2>DET curve</h2>{_img(det_png, "DET curve")}
<h2>Misses and false accepts</h2>{figures or "<p>none</p>"}
<h2>Streams</h2>{_table(streams)}
<h2>Time (s)</h2>{_table(timings)}
</body></html>
"""


def write_report(out_dir: Path, result: CalibrationResult, neg: NegativeStream,
                 pos: PositiveStream) -> dict[str, Path]:
    """``det.png``, ``report.html`` and ``calibration.json`` in ``out_dir``."""
    from dataclasses import asdict

    out_dir.mkdir(parents=True, exist_ok=True)
    det = det_curve_png(result)
    page = report_html(result, det, _examples(result, neg, pos))
    paths = {"det": out_dir / "det.png", "report": out_dir / "report.html",
             "calibration": out_dir / "calibration.json"}
    document = {**asdict(result), "settings": result.settings.to_dict(),
                "summary": result.summary()}
    write_json_atomic(paths["calibration"], document)
    write_atomic(paths["det"], lambda f: f.write(det))
    write_text_atomic(paths["report"], page)
    return paths
