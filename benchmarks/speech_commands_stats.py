"""Statistics over the seeds of :mod:`speech_commands`: mean ± standard deviation and a
speaker-level bootstrap interval of the int8 test accuracy.

Clips of one speaker are not independent, so the bootstrap resamples *speakers* (test
groups), not clips: each draw picks as many groups as there are, with replacement, and
scores every clip of each picked group as often as the group was picked.  Generated
silence has no speaker; its clips are grouped by the noise file they were cut from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

BOOTSTRAP_DRAWS = 10_000
BOOTSTRAP_SEED = 0


def bootstrap_group(path: str, speaker: str) -> str:
    """The bootstrap unit of a test clip: its speaker, else its source file (a noise file
    for generated silence)."""
    return speaker or f"file:{path}"


def group_bootstrap(
    y: np.ndarray,
    predictions: np.ndarray,
    groups: list[str],
    num_classes: int,
    *,
    draws: int = BOOTSTRAP_DRAWS,
    seed: int = BOOTSTRAP_SEED,
    level: float = 0.95,
) -> dict[str, Any]:
    """Bootstrap interval of accuracy and balanced accuracy, resampling ``groups``.

    ``predictions`` is ``[models, n]`` (one row per seed's model, all on the same ``n``
    clips with true labels ``y``); each draw scores the mean over the models, so the
    interval covers the seed-averaged result.  Balanced accuracy averages the recall of the
    classes present in the draw.

    Returns
    -------
    dict
        ``accuracy`` and ``balanced_accuracy``, each ``[low, high]``; ``groups`` (how many),
        ``draws``, ``level``, ``seed``.
    """
    y = np.asarray(y, dtype=np.int64)
    pred = np.atleast_2d(np.asarray(predictions, dtype=np.int64))
    names, group_of = np.unique(np.asarray(groups), return_inverse=True)
    n_groups = len(names)
    # hits[m, g, c]: clips of class c in group g that model m labels right; count[g, c].
    hits = np.zeros((len(pred), n_groups, num_classes))
    for m, p in enumerate(pred):
        np.add.at(hits[m], (group_of, y), (p == y).astype(np.float64))
    count = np.zeros((n_groups, num_classes))
    np.add.at(count, (group_of, y), 1.0)
    rng = np.random.default_rng(seed)
    picks = np.stack([np.bincount(row, minlength=n_groups)
                      for row in rng.integers(n_groups, size=(draws, n_groups))])
    drawn_count = picks @ count  # [draws, classes]
    drawn_hits = np.einsum("dg,mgc->dmc", picks, hits)  # [draws, models, classes]
    accuracy = (drawn_hits.sum(axis=2) / drawn_count.sum(axis=1)[:, None]).mean(axis=1)
    present = drawn_count > 0
    recall = np.where(present[:, None, :],
                      drawn_hits / np.maximum(drawn_count, 1.0)[:, None, :], 0.0)
    balanced = (recall.sum(axis=2) / present.sum(axis=1)[:, None]).mean(axis=1)
    tail = 100.0 * (1.0 - level) / 2.0
    return {
        "accuracy": [float(v) for v in np.percentile(accuracy, [tail, 100.0 - tail])],
        "balanced_accuracy": [float(v) for v in np.percentile(balanced, [tail, 100.0 - tail])],
        "groups": int(n_groups), "draws": draws, "level": level, "seed": seed,
    }


def mean_std(values: list[float | None]) -> dict[str, float | None]:
    """Mean and sample standard deviation (``ddof=1``; ``None`` for one value) of
    ``values``, ignoring ``None``."""
    v = np.array([x for x in values if x is not None], dtype=np.float64)
    if not len(v):
        return {"mean": None, "std": None}
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else None}


def _pm(stat: dict[str, float | None]) -> str:
    if stat["mean"] is None:
        return "—"
    if stat["std"] is None:
        return f"{stat['mean']:.1%}"
    return f"{stat['mean']:.1%} ± {100 * stat['std']:.1f}"


def _interval(pair: list[float]) -> str:
    return f"{pair[0]:.1%}–{pair[1]:.1%}"


def seeds_markdown(summary: dict[str, Any]) -> str:
    """The README table of a multi-seed ``summary`` (rows per seed, mean ± std, TFLM)."""
    head = ("| model | seed | best epoch | float acc | int8 acc (tflite-micro) "
            "| int8 balanced acc | unknown false accepts |")
    rows = [head, "|---|--:|--:|--:|--:|--:|--:|"]
    for r in summary["per_seed"]:
        rows.append(
            f"| {summary['model']} | {r['seed']} | {r['best_epoch']} "
            f"| {r['float_accuracy']:.1%} | {r['int8_accuracy']:.1%} "
            f"| {r['int8_balanced_accuracy']:.1%} | {_fmt(r['unknown_false_accept_rate'])} |")
    m = summary["mean_std"]
    rows.append(
        f"| **{summary['model']}, mean ± std** | {_seeds(len(summary['per_seed']))} | — "
        f"| {_pm(m['float_accuracy'])} | **{_pm(m['int8_accuracy'])}** "
        f"| **{_pm(m['int8_balanced_accuracy'])}** | {_pm(m['unknown_false_accept_rate'])} |")
    tflm = summary.get("tflm_micro_speech")
    if tflm:
        rows.append(
            f"| TFLM {tflm['model']} | — | — | — | {tflm['int8_accuracy']:.1%} "
            f"| {tflm['int8_balanced_accuracy']:.1%} "
            f"| {_fmt(tflm['unknown_false_accept_rate'])} |")
    boot = summary["bootstrap"]
    n_files = boot["groups"] - summary["test_speakers"]
    files = f"{n_files} noise file" + ("s" if n_files != 1 else "")
    lines = ["\n".join(rows), "",
             f"{summary['test_examples']} test clips, {boot['groups']} test groups "
             f"({summary['test_speakers']} speakers, and {files} for the silence clips: the "
             f"file they were cut from); speaker-level bootstrap {boot['level']:.0%} interval "
             f"({boot['draws']:,} draws) of the seed-averaged int8 accuracy "
             f"{_interval(boot['accuracy'])}, balanced accuracy "
             f"{_interval(boot['balanced_accuracy'])}."]
    if tflm:
        tb = tflm["bootstrap"]
        lines.append(f"TFLM on the same clips: accuracy {_interval(tb['accuracy'])}, "
                     f"balanced accuracy {_interval(tb['balanced_accuracy'])}.")
    return "\n".join(lines) + "\n"


def _seeds(n: int) -> str:
    return f"{n} seed" + ("s" if n != 1 else "")


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.1%}"
