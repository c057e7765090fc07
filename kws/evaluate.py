"""Evaluate an exported int8 model on a dataset folder, the way the firmware would run it.

Features come from the model's own front-end config (``model.json``), are quantized with the
model's input scale and zero point, and run through the tflite-micro interpreter (TFLM
reference kernels, i.e. firmware semantics) or, for comparison, desktop LiteRT.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from kws.data.dataset import SILENCE_LABEL, UNKNOWN_LABEL
from kws.errors import KwsError

ENGINES = ("tflm", "litert")


def load_model_json(model_path: str | os.PathLike[str]) -> dict[str, Any]:
    """``model.json`` beside ``model_path``, checked for the keys evaluation needs."""
    path = Path(model_path)
    if not path.is_file():
        raise KwsError(f"{path}: model file not found")
    meta_path = path.with_name("model.json")
    try:
        meta = json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise KwsError(f"{path}: no model.json beside the model (export it with `kws export`)"
                       ) from None
    except (OSError, ValueError) as exc:
        raise KwsError(f"{meta_path}: unreadable model description ({exc})") from exc
    missing = [k for k in ("labels", "frontend", "input_scale", "input_zero_point")
               if k not in meta]
    if missing:
        raise KwsError(f"{meta_path}: missing keys {', '.join(missing)}")
    return meta


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]
                           ) -> dict[str, Any]:
    """Accuracy, balanced accuracy, false accepts, per-class recall/precision/n and the
    confusion matrix.

    ``confusion[i][j]`` counts examples of label ``i`` predicted as ``j``.  Balanced accuracy
    is the mean recall over labels that have examples.  Precision of a label never predicted
    is 0.  ``false_accepts[l]`` (``l`` in ``_unknown_``, ``_silence_``) is the share of
    label-``l`` clips predicted as a keyword (any other label), what a user hears as a false
    trigger; ``false_accept_rate`` is the same over all clips of those labels together
    (``None`` without such clips).
    """
    k = len(labels)
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    n_true = confusion.sum(axis=1)
    n_pred = confusion.sum(axis=0)
    hits = np.diag(confusion)
    per_class = {}
    recalls = []
    for i, label in enumerate(labels):
        recall = float(hits[i] / n_true[i]) if n_true[i] else None
        if recall is not None:
            recalls.append(recall)
        per_class[label] = {
            "recall": recall,
            "precision": float(hits[i] / n_pred[i]) if n_pred[i] else 0.0,
            "n": int(n_true[i]),
        }
    n = int(len(y_true))
    rejects = [i for i, label in enumerate(labels) if label in (SILENCE_LABEL, UNKNOWN_LABEL)]
    keywords = [i for i in range(k) if i not in rejects]
    accepted = confusion[:, keywords].sum(axis=1)
    false_accepts = {labels[i]: float(accepted[i] / n_true[i]) if n_true[i] else None
                     for i in rejects}
    n_reject = int(n_true[rejects].sum())
    return {
        "n": n,
        "accuracy": float(hits.sum() / n) if n else 0.0,
        "balanced_accuracy": float(np.mean(recalls)) if recalls else 0.0,
        "false_accept_rate": float(accepted[rejects].sum() / n_reject) if n_reject else None,
        "false_accepts": false_accepts,
        "per_class": per_class,
        "labels": list(labels),
        "confusion": confusion.tolist(),
    }


def metrics_summary(metrics: dict[str, Any]) -> str:
    """One line: accuracy, balanced accuracy, false accepts and per-class recall of a
    :func:`classification_metrics` result."""
    parts = [f"accuracy {metrics['accuracy']:.4f}",
             f"balanced accuracy {metrics['balanced_accuracy']:.4f}"]
    if metrics.get("false_accept_rate") is not None:
        by_label = ", ".join(f"{label} {rate:.1%}" for label, rate
                             in metrics["false_accepts"].items() if rate is not None)
        parts.append(f"false accepts {metrics['false_accept_rate']:.1%} ({by_label})")
    recalls = ", ".join(f"{label} {c['recall']:.0%}" for label, c
                        in metrics["per_class"].items() if c["recall"] is not None)
    return "; ".join(parts) + f"; recall: {recalls}"


def plot_confusion(confusion: np.ndarray, labels: list[str], path: str | os.PathLike[str],
                   title: str = "") -> None:
    """Save a confusion-matrix heat map (rows: true label, columns: predicted) as an image."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kws.fileio import write_atomic

    confusion = np.asarray(confusion)
    k = len(labels)
    size = max(4.0, 0.6 * k + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    try:
        ax.imshow(confusion, cmap="Blues")
        ax.set_xticks(range(k), labels, rotation=45, ha="right")
        ax.set_yticks(range(k), labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        if title:
            ax.set_title(title)
        peak = confusion.max() if confusion.size else 0
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(int(confusion[i, j])), ha="center", va="center",
                        color="white" if confusion[i, j] > peak / 2 else "black", fontsize=8)
        fig.tight_layout()
        fmt = Path(path).suffix.lstrip(".") or "png"
        write_atomic(Path(path), lambda f: fig.savefig(f, format=fmt, dpi=120))
    finally:
        plt.close(fig)


def _labelled_clips(data: str | os.PathLike[str], labels: list[str], clip_ms: int) -> list:
    """Every clip of ``data`` with its label, for the labels the dataset has.

    Speech Commands layout: the model's words that have a folder, other words as
    ``_unknown_``, silence only where ``_silence_/`` or ``_background_noise_/`` supplies it.
    Folder-per-label: every label folder (one the model does not know is refused later).
    """
    from kws.data import (
        BACKGROUND_NOISE_DIR,
        SILENCE_LABEL,
        UNKNOWN_LABEL,
        is_speech_commands,
        load_dataset,
    )
    from kws.data.dataset import dataset_root

    root = dataset_root(data)
    if not is_speech_commands(root):
        return load_dataset(root, split="none", clip_ms=clip_ms).test
    words = [label for label in labels if label not in (SILENCE_LABEL, UNKNOWN_LABEL)
             and (root / label).is_dir()]
    if not words:
        raise KwsError(f"{root}: no folder for any word of the model "
                       f"({', '.join(labels)})")
    splits = load_dataset(root, words, split="none", unknown_percentage=None, clip_ms=clip_ms,
                          silence_percentage="auto" if (root / SILENCE_LABEL).is_dir()
                          or (root / BACKGROUND_NOISE_DIR).is_dir() else 0)
    return splits.test


def evaluate_model(
    model_path: str | os.PathLike[str],
    data: str | os.PathLike[str],
    *,
    engine: str = "tflm",
    cache_dir: str | os.PathLike[str] | None = None,
    plot: str | os.PathLike[str] | None = None,
    progress: bool = True,
    feature_progress: bool | None = None,
) -> dict[str, Any]:
    """Accuracy of an int8 model on every clip of the dataset at ``data``.

    Parameters
    ----------
    model_path
        int8 ``.tflite`` with ``model.json`` beside it.
    data
        Dataset root (Speech Commands or folder-per-label layout); all clips are used
        (``split="none"``, every other-word clip counts as ``_unknown_``).
    engine
        ``"tflm"`` (tflite-micro interpreter, the reference) or ``"litert"``.
    cache_dir
        Feature cache (see :func:`kws.data.extract_features`).
    plot
        Save the confusion matrix image here.
    progress
        Show inference progress with rich (on stderr).
    feature_progress
        Show feature-extraction progress (drawn on stdout by :mod:`kws.data`); defaults to
        ``progress``.

    Returns
    -------
    dict
        :func:`classification_metrics` keys plus ``engine``, ``model``, ``data``,
        ``agreement`` (fraction of clips where int8 and the float ``model.keras`` beside the
        model pick the same class; ``None`` without a float model) and ``seconds``.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from kws.engines import open_session
    from kws.export import quantize_inputs, run_int8

    if engine not in ENGINES:
        raise KwsError(f"unknown engine {engine!r} (expected one of {', '.join(ENGINES)})")
    started = time.perf_counter()
    console = Console(stderr=True, quiet=not progress)
    meta = _checked_model_json(model_path, engine)
    labels = list(meta["labels"])
    x, y = _dataset_features(model_path, meta, data, cache_dir,
                             progress if feature_progress is None else feature_progress)
    q = quantize_inputs(x, float(meta["input_scale"]), int(meta["input_zero_point"]))
    runner = open_session(engine, model_path)
    with Progress(TextColumn(f"[bold]int8 inference ({engine})"), BarColumn(),
                  MofNCompleteColumn(), console=console, disable=not progress) as bar:
        task = bar.add_task("", total=len(q))
        out = run_int8(runner, q, bar, task)
    pred = np.argmax(out, axis=-1)
    result = classification_metrics(y, pred, labels)
    result.update({
        "engine": engine,
        "model": str(model_path),
        "data": str(data),
        "agreement": _float_agreement(Path(model_path).with_name("model.keras"), x, pred),
        "seconds": round(time.perf_counter() - started, 2),
    })
    if plot is not None:
        plot_confusion(np.asarray(result["confusion"]), labels, plot,
                       title=f"{Path(model_path).name}: accuracy {result['accuracy']:.3f}")
    return result


def _checked_model_json(model_path: str | os.PathLike[str], engine: str) -> dict[str, Any]:
    """``model.json`` beside ``model_path``, checked against the model itself."""
    from kws.engines import check_model
    from kws.modelinfo import check_model_json

    facts = check_model(engine, Path(model_path))
    meta = load_model_json(model_path)
    check_model_json(facts, meta, Path(model_path).with_name("model.json"))
    return meta


def _dataset_features(model_path: str | os.PathLike[str], meta: dict[str, Any],
                      data: str | os.PathLike[str], cache_dir: Any, progress: bool
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Features ``[n, frames, channels]`` and label indices of every clip of ``data`` for
    the labels the model has, through the model's own frontend."""
    from kws.data import extract_features
    from kws.features import frontend_from_dict

    labels = list(meta["labels"])
    try:
        frontend = frontend_from_dict(meta["frontend"])
    except (TypeError, ValueError, KeyError) as exc:
        raise KwsError(f"{model_path}: bad frontend in model.json ({exc})") from exc
    clip_ms = int(meta.get("clip_ms", 1000))
    examples = _labelled_clips(data, labels, clip_ms)
    if not examples:
        raise KwsError(f"{data}: no clips to evaluate for labels {labels}")
    foreign = sorted({ex.label for ex in examples} - set(labels))
    if foreign:
        raise KwsError(f"{data}: labels {foreign} are not outputs of the model {labels}")
    x, y = extract_features(examples, labels, frontend, clip_ms=clip_ms, cache_dir=cache_dir,
                            progress=progress)
    expected = tuple(int(d) for d in meta.get("input_shape", [1, *x.shape[1:], 1]))
    if int(np.prod(expected)) != int(np.prod(x.shape[1:])):
        raise KwsError(f"{model_path}: model input {list(expected)} does not match features "
                       f"{list(x.shape[1:])} from its frontend config")
    return x, y


def _float_agreement(float_path: Path, x: np.ndarray, pred: np.ndarray) -> float | None:
    """Share of clips where the float model at ``float_path`` picks ``pred``'s class (None
    without a float model)."""
    if not float_path.is_file():
        return None
    import keras

    from kws.train import predict_classes

    try:
        float_model = keras.models.load_model(float_path, compile=False)
    except Exception as exc:  # keras raises many types for a bad archive
        raise KwsError(f"{float_path}: cannot load the float model ({exc})") from exc
    return float(np.mean(predict_classes(float_model, x) == pred))


def print_report(result: dict[str, Any], console: Any = None) -> None:
    """Summary, per-class table and confusion matrix as rich tables."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    labels = result["labels"]
    agreement = result.get("agreement")
    console.print(
        f"[bold]{result['model']}[/] on {result['data']} ({result['engine']}), "
        f"n={result['n']}: " + metrics_summary(result)
        + (f"; int8/float agreement {agreement:.4f}" if agreement is not None else ""),
        soft_wrap=True,
    )
    per_class = Table(title="per class")
    for col in ("label", "n", "recall", "precision", "false accepts"):
        per_class.add_column(col, justify="left" if col == "label" else "right")
    for label in labels:
        c = result["per_class"][label]
        recall = "-" if c["recall"] is None else f"{c['recall']:.4f}"
        fa = result.get("false_accepts", {}).get(label)
        per_class.add_row(label, str(c["n"]), recall, f"{c['precision']:.4f}",
                          "" if fa is None else f"{fa:.4f}")
    console.print(per_class)
    confusion = Table(title="confusion (rows: true, columns: predicted)")
    confusion.add_column("")
    for label in labels:
        confusion.add_column(label, justify="right")
    for label, row in zip(labels, result["confusion"], strict=True):
        confusion.add_row(label, *(str(v) for v in row))
    console.print(confusion)
