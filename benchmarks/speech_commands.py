"""Speech Commands benchmark: DS-CNN on unseen speakers, int8 through tflite-micro.

Trains on a Speech Commands folder (``--words`` + ``_unknown_`` + ``_silence_``; by default
the 10 words of the 12-class task) with a whole-speaker split, exports full-int8, and
evaluates the int8 model on the held-out speakers with the tflite-micro interpreter (the
firmware's arithmetic).  With ``--frontend micro`` and the labels of TFLM's micro_speech
(``--words yes,no``), TFLM's ``micro_speech_quantized.tflite`` runs on the same clips and
features (the bit-exact micro frontend) and is reported beside it.  Leaves
``OUT/model_int8.tflite`` and ``OUT/model.json`` (usable by ``kws evaluate``), plus
``OUT/results.json``, ``OUT/results.md`` and ``OUT/predictions.json`` (per test clip: label,
int8 prediction, speaker).

Nothing is chosen on the test split: the kept epoch is the one of the best *validation*
balanced accuracy, predictions are the argmax (no threshold), and the held-out speakers
are fixed by ``--split-seed`` whatever the training ``--seed``.  The background-noise files
are held out whole (``kws.data.noise_split``): training mixes only its own, test silence
is cut only from the test's.  ``--seeds 0,1,2`` trains each seed into ``OUT/seed<k>/``
(a seed folder with results from the same settings is reused), then writes
``OUT/results.json`` and ``OUT/results.md``: per-seed rows, mean ± standard deviation, and a
speaker-level bootstrap interval (:mod:`speech_commands_stats`).

    python benchmarks/speech_commands.py --data ../shared/data/speech_commands_v0.02_test_subset \\
        --out results/speech_commands --seeds 0,1,2
    python benchmarks/speech_commands.py --data ../shared/data/speech_commands_v0.02_test_subset \\
        --out results/speech_commands_yes_no --words yes,no --frontend micro --epochs 80 \\
        --channel-mask 6 --seeds 0,1,2

``--channel-mask 6`` for yes/no: ``kws train``'s few-word default (chosen on validation).

Times on a 2-core CPU: about 10 s per epoch for DS-CNN-S on MFCC (12 classes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speech_commands_stats import bootstrap_group, group_bootstrap, mean_std, seeds_markdown

from kws.commands.train import amount
from kws.fileio import write_json_atomic, write_text_atomic

WORDS = "yes,no,up,down,left,right,on,off,stop,go"
TFLM_MODEL = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "models" / \
    "micro_speech_quantized.tflite"
# micro_speech's output order.
TFLM_LABELS = ["_silence_", "_unknown_", "yes", "no"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="Speech Commands layout folder")
    p.add_argument("--out", type=Path, required=True, help="output/run directory")
    p.add_argument("--words", default=WORDS)
    p.add_argument("--model", default="ds-cnn-s")
    p.add_argument("--frontend", choices=["mfcc", "micro"], default="mfcc")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0, help="training seed (one run into OUT)")
    p.add_argument("--seeds", default=None,
                   help="comma-separated training seeds: each into OUT/seed<k>, then the "
                        "mean ± std and bootstrap interval into OUT")
    p.add_argument("--split-seed", type=int, default=0,
                   help="seed of the whole-speaker split (the held-out speakers)")
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--unknown-percentage", type=amount, default="auto")
    p.add_argument("--silence-percentage", type=amount, default="auto")
    p.add_argument("--class-weights", choices=["capped", "balanced", "none"], default="capped")
    p.add_argument("--validation-percentage", type=float, default=10.0)
    p.add_argument("--testing-percentage", type=float, default=10.0)
    p.add_argument("--snr-db", default="10,40", help="background noise SNR range LO,HI")
    p.add_argument("--time-mask", type=int, default=10, help="SpecAugment time mask (frames)")
    p.add_argument("--channel-mask", type=int, default=2,
                   help="SpecAugment channel mask (channels)")
    p.add_argument("--tflm-model", type=Path, default=TFLM_MODEL,
                   help="TFLM micro_speech model to compare with (micro frontend, yes/no)")
    return p.parse_args(argv)


def _metrics_row(metrics: dict[str, Any]) -> dict[str, Any]:
    return {
        "int8_accuracy": metrics["accuracy"],
        "int8_balanced_accuracy": metrics["balanced_accuracy"],
        "false_accept_rate": metrics["false_accept_rate"],
        "unknown_false_accept_rate": metrics["false_accepts"].get("_unknown_"),
        "false_accepts": metrics["false_accepts"],
        "per_class_recall": {k: v["recall"] for k, v in metrics["per_class"].items()},
        "confusion": metrics["confusion"],
    }


def tflm_metrics(model: Path, x: np.ndarray, y: np.ndarray, labels: list[str]
                 ) -> dict[str, Any]:
    """TFLM micro_speech on float micro-frontend inputs ``x``, its outputs mapped to
    ``labels`` by name, scored with :func:`kws.evaluate.classification_metrics`
    (``predictions``: the mapped label index of each clip)."""
    from kws.engines import open_session
    from kws.evaluate import classification_metrics
    from kws.export import quantize_inputs, run_int8
    from kws.modelinfo import io_quantization

    inp, _ = io_quantization(model)
    q = quantize_inputs(x, inp.scale, inp.zero_point)
    outputs = run_int8(open_session("tflm", model), q)
    to_ours = np.array([labels.index(label) for label in TFLM_LABELS])
    predicted = to_ours[outputs.argmax(axis=1)]
    metrics = classification_metrics(y, predicted, labels)
    return {"model": model.name, "tflite_bytes": model.stat().st_size,
            **_metrics_row(metrics), "predictions": [int(v) for v in predicted]}


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.1%}"


def markdown(results: dict[str, Any], frontend: str) -> str:
    """The README table rows of ``results``."""
    rows = [
        "| model | frontend | test clips (unseen speakers) | float acc | int8 acc (tflite-micro) "
        "| int8 balanced acc | unknown false accepts | .tflite bytes | params | MACs |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
        f"| {results['model']} | {frontend} | {results['test_examples']} "
        f"| {_pct(results['float_accuracy'])} | {_pct(results['int8_accuracy'])} "
        f"| {_pct(results['int8_balanced_accuracy'])} "
        f"| {_pct(results['unknown_false_accept_rate'])} | {results['tflite_bytes']:,} "
        f"| {results['params']:,} | {results['macs']:,} |",
    ]
    tflm = results.get("tflm_micro_speech")
    if tflm:
        rows.append(
            f"| TFLM {tflm['model']} | micro | {results['test_examples']} | — "
            f"| {_pct(tflm['int8_accuracy'])} | {_pct(tflm['int8_balanced_accuracy'])} "
            f"| {_pct(tflm['unknown_false_accept_rate'])} | {tflm['tflite_bytes']:,} | — | — |")
    for name, r in (("kws", results), ("TFLM", tflm)):
        if r:
            rows.append("")
            rows.append(f"{name} per-class recall: " + ", ".join(
                f"{k} {v:.0%}" for k, v in r["per_class_recall"].items() if v is not None))
    return "\n".join(rows) + "\n"


def _train_config(args: argparse.Namespace, seed: int) -> Any:
    from kws.features import MfccConfig, MicroFrontendConfig
    from kws.train import TrainConfig

    frontend = MfccConfig() if args.frontend == "mfcc" else MicroFrontendConfig()
    snr = tuple(float(v) for v in args.snr_db.split(","))
    return TrainConfig(
        data=str(args.data), words=args.words.split(","), model=args.model,
        frontend=frontend.to_dict(), epochs=args.epochs, batch_size=args.batch_size,
        lr=args.lr, seed=seed, label_smoothing=args.label_smoothing,
        dropout=args.dropout, split="speaker", split_seed=args.split_seed,
        unknown_percentage=args.unknown_percentage,
        silence_percentage=args.silence_percentage, class_weights=args.class_weights,
        validation_percentage=args.validation_percentage,
        testing_percentage=args.testing_percentage, snr_db=(snr[0], snr[1]),
        time_mask_frames=args.time_mask, channel_mask_channels=args.channel_mask,
    )


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """Every option that shapes a run except the seeds and the output folder."""
    return {k: str(v) for k, v in sorted(vars(args).items())
            if k not in ("out", "seed", "seeds", "tflm_model")}


def _test_clips(config: Any, labels: list[str], y: np.ndarray) -> dict[str, list[str]]:
    """Per test clip in ``test.npz`` order (the dataset loads the same way for the same
    config): ``clips``, an id (file, start, gain), and ``groups``, its bootstrap unit."""
    from rich.console import Console

    from kws.train_data import load_splits

    _, splits, _, _ = load_splits(config, Console(quiet=True))
    if [labels.index(ex.label) for ex in splits.test] != [int(v) for v in y]:
        raise RuntimeError("the reloaded test split does not match test.npz")
    return {"clips": [f"{ex.path.parent.name}/{ex.path.name}@{ex.start}x{ex.gain:.6f}"
                      for ex in splits.test],
            "groups": [bootstrap_group(ex.path.name, ex.speaker) for ex in splits.test]}


def run_seed(args: argparse.Namespace, seed: int, out: Path) -> dict[str, Any]:
    """Train, export and evaluate one seed into ``out``; its results (also written to
    ``out/results.json``, ``results.md`` and ``predictions.json``)."""
    from kws.engines import open_session
    from kws.evaluate import classification_metrics
    from kws.export import export_run, quantize_inputs, run_int8
    from kws.features import MicroFrontendConfig
    from kws.train import train

    config = _train_config(args, seed)
    started = time.perf_counter()
    trained = train(config, out)
    info = export_run(out)

    test = np.load(out / "test.npz")
    q = quantize_inputs(test["x"], info["input_scale"], info["input_zero_point"])
    predicted = run_int8(open_session("tflm", out / info["model_file"]), q).argmax(axis=1)
    labels = list(info["labels"])
    metrics = classification_metrics(test["y"], predicted, labels)
    tflm = None
    if (args.frontend == "micro" and sorted(labels) == sorted(TFLM_LABELS)
            and info["frontend"] == MicroFrontendConfig().to_dict()):
        tflm = tflm_metrics(args.tflm_model, test["x"], test["y"], labels)
    results = {
        "task": f"{len(labels)}-class Speech Commands ({', '.join(labels)}), unseen speakers",
        "data": str(args.data),
        "model": info["architecture"],
        "frontend": info["frontend"],
        "seed": seed,
        "split_seed": args.split_seed,
        "settings": _settings(args),
        "train_examples": trained["counts"]["train"],
        "validation_examples": trained["counts"]["validation"],
        "test_examples": metrics["n"],
        "test_examples_per_class": {k: v["n"] for k, v in metrics["per_class"].items()},
        "epochs": args.epochs,
        "best_epoch": trained["best_epoch"],
        "best_val_balanced_accuracy": trained.get("best_val_balanced_accuracy"),
        "class_weights": trained["class_weights"],
        "float_accuracy": info["float_accuracy"],
        "float_balanced_accuracy": trained["test_metrics"]["balanced_accuracy"],
        **_metrics_row(metrics),
        "params": info["params"],
        "macs": info["macs"],
        "tflite_bytes": info["file_size"],
        "tflm_micro_speech": tflm,
        "seconds": round(time.perf_counter() - started, 1),
        "argv": sys.argv[1:],
    }
    write_json_atomic(out / "predictions.json", {
        "labels": labels, "y": [int(v) for v in test["y"]],
        "int8": [int(v) for v in predicted],
        "tflm": tflm.pop("predictions") if tflm else None,
        **_test_clips(config, labels, test["y"]),
    })
    write_json_atomic(out / "results.json", results)
    write_text_atomic(out / "results.md", markdown(results, args.frontend))
    return results


def _finished(out: Path, settings: dict[str, Any]) -> dict[str, Any] | None:
    """The results in ``out`` when a run with the same ``settings`` finished there."""
    path = out / "results.json"
    if not (path.is_file() and (out / "predictions.json").is_file()):
        return None
    results = json.loads(path.read_text())
    if results.get("settings") != settings:
        raise SystemExit(f"{out}: holds a run with other settings; choose another --out")
    return results


def _by_clip(pred: dict[str, Any]) -> dict[str, Any]:
    """``pred`` (a ``predictions.json``) with its per-clip lists in clip-id order (each
    seed shuffles its test split differently)."""
    order = sorted(range(len(pred["clips"])), key=pred["clips"].__getitem__)
    return {k: [v[i] for i in order] if isinstance(v, list) and k != "labels" else v
            for k, v in pred.items()}


def summarize(args: argparse.Namespace, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-seed rows, mean ± std and the speaker-level bootstrap over ``runs``."""
    preds = [_by_clip(json.loads((args.out / f"seed{r['seed']}" / "predictions.json"
                                  ).read_text())) for r in runs]
    first = preds[0]
    if any(p["clips"] != first["clips"] or p["y"] != first["y"] for p in preds):
        raise RuntimeError("the seeds were tested on different clips")
    y, k = np.array(first["y"]), len(first["labels"])
    keys = ("float_accuracy", "int8_accuracy", "int8_balanced_accuracy",
            "unknown_false_accept_rate")
    tflm = runs[0].get("tflm_micro_speech")
    if tflm:
        tflm = {**tflm, "bootstrap": group_bootstrap(y, np.array([first["tflm"]]),
                                                     first["groups"], k)}
    return {
        "task": runs[0]["task"], "data": runs[0]["data"], "model": runs[0]["model"],
        "frontend": runs[0]["frontend"], "settings": runs[0]["settings"],
        "split_seed": args.split_seed,
        "seeds": [r["seed"] for r in runs],
        "seed_varies": "training only (weights, unknown draw, shuffling, augmentation); the "
                       "held-out speakers and noise files are the same for every seed",
        "test_examples": runs[0]["test_examples"],
        "test_examples_per_class": runs[0]["test_examples_per_class"],
        "test_speakers": len({g for g in first["groups"] if not g.startswith("file:")}),
        "per_seed": [{key: r.get(key) for key in (
            "seed", "best_epoch", "best_val_balanced_accuracy", "train_examples", *keys,
            "per_class_recall", "class_weights", "tflite_bytes", "params", "macs",
            "seconds")} for r in runs],
        "mean_std": {key: mean_std([r[key] for r in runs]) for key in keys},
        "bootstrap": group_bootstrap(y, np.array([p["int8"] for p in preds]),
                                     first["groups"], k),
        "tflm_micro_speech": tflm,
    }


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    args = parse_args(argv)
    from rich.console import Console

    console = Console()
    if args.seeds is None:
        results = run_seed(args, args.seed, args.out)
        console.print(results["task"])
        console.print((args.out / "results.md").read_text(), soft_wrap=True)
        console.print(f"{results['tflite_bytes']:,} bytes, best epoch {results['best_epoch']}, "
                      f"{results['seconds']:.0f} s")
        return 0
    runs = []
    for seed in (int(v) for v in args.seeds.split(",")):
        out = args.out / f"seed{seed}"
        results = _finished(out, _settings(args)) or run_seed(args, seed, out)
        console.print(f"seed {seed}: int8 {results['int8_accuracy']:.1%}, balanced "
                      f"{results['int8_balanced_accuracy']:.1%}, best epoch "
                      f"{results['best_epoch']}, {results['seconds']:.0f} s")
        runs.append(results)
    summary = summarize(args, runs)
    write_json_atomic(args.out / "results.json", summary)
    md = seeds_markdown(summary)
    write_text_atomic(args.out / "results.md", md)
    console.print(md, soft_wrap=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
