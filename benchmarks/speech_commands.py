"""Speech Commands benchmark: DS-CNN on unseen speakers, int8 through tflite-micro.

Trains on a Speech Commands folder (``--words`` + ``_unknown_`` + ``_silence_``; by default
the 10 words of the 12-class task) with a whole-speaker split, exports full-int8, and
evaluates the int8 model on the held-out speakers with the tflite-micro interpreter (the
firmware's arithmetic).  With ``--frontend micro`` and the labels of TFLM's micro_speech
(``--words yes,no``), TFLM's ``micro_speech_quantized.tflite`` runs on the same clips and
features (the bit-exact micro frontend) and is reported beside it.  Leaves
``OUT/model_int8.tflite`` and ``OUT/model.json`` (usable by ``kws evaluate``), plus
``OUT/results.json`` and ``OUT/results.md``.

    python benchmarks/speech_commands.py --data ../shared/data/speech_commands_v0.02_test_subset \\
        --out results/speech_commands
    python benchmarks/speech_commands.py --data ../shared/data/speech_commands_v0.02_test_subset \\
        --out results/speech_commands_yes_no --words yes,no --frontend micro

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

from kws.commands.train import amount

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
    p.add_argument("--seed", type=int, default=0)
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
    ``labels`` by name, scored with :func:`kws.evaluate.classification_metrics`."""
    from kws.engines import open_session
    from kws.evaluate import classification_metrics
    from kws.export import quantize_inputs, run_int8
    from kws.modelinfo import io_quantization

    inp, _ = io_quantization(model)
    q = quantize_inputs(x, inp.scale, inp.zero_point)
    outputs = run_int8(open_session("tflm", model), q)
    to_ours = np.array([labels.index(label) for label in TFLM_LABELS])
    metrics = classification_metrics(y, to_ours[outputs.argmax(axis=1)], labels)
    return {"model": model.name, "tflite_bytes": model.stat().st_size,
            **_metrics_row(metrics)}


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


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    args = parse_args(argv)
    from rich.console import Console

    from kws.engines import open_session
    from kws.evaluate import classification_metrics, metrics_summary
    from kws.export import export_run, quantize_inputs, run_int8
    from kws.features import MfccConfig, MicroFrontendConfig
    from kws.train import TrainConfig, train

    console = Console()
    frontend = MfccConfig() if args.frontend == "mfcc" else MicroFrontendConfig()
    snr = tuple(float(v) for v in args.snr_db.split(","))
    config = TrainConfig(
        data=str(args.data), words=args.words.split(","), model=args.model,
        frontend=frontend.to_dict(), epochs=args.epochs, batch_size=args.batch_size,
        lr=args.lr, seed=args.seed, label_smoothing=args.label_smoothing,
        dropout=args.dropout, split="speaker", unknown_percentage=args.unknown_percentage,
        silence_percentage=args.silence_percentage, class_weights=args.class_weights,
        validation_percentage=args.validation_percentage,
        testing_percentage=args.testing_percentage, snr_db=(snr[0], snr[1]),
        time_mask_frames=args.time_mask, channel_mask_channels=args.channel_mask,
    )
    started = time.perf_counter()
    trained = train(config, args.out)
    info = export_run(args.out)

    test = np.load(args.out / "test.npz")
    q = quantize_inputs(test["x"], info["input_scale"], info["input_zero_point"])
    outputs = run_int8(open_session("tflm", args.out / info["model_file"]), q)
    labels = list(info["labels"])
    metrics = classification_metrics(test["y"], outputs.argmax(axis=1), labels)
    tflm = None
    if (args.frontend == "micro" and sorted(labels) == sorted(TFLM_LABELS)
            and info["frontend"] == MicroFrontendConfig().to_dict()):
        tflm = tflm_metrics(args.tflm_model, test["x"], test["y"], labels)
    results = {
        "task": f"{len(labels)}-class Speech Commands ({', '.join(labels)}), unseen speakers",
        "data": str(args.data),
        "model": info["architecture"],
        "frontend": info["frontend"],
        "train_examples": trained["counts"]["train"],
        "validation_examples": trained["counts"]["validation"],
        "test_examples": metrics["n"],
        "test_examples_per_class": {k: v["n"] for k, v in metrics["per_class"].items()},
        "epochs": args.epochs,
        "best_epoch": trained["best_epoch"],
        "class_weights": trained["class_weights"],
        "float_accuracy": info["float_accuracy"],
        "float_balanced_accuracy": trained["test_metrics"]["balanced_accuracy"],
        **_metrics_row(metrics),
        "params": info["params"],
        "macs": info["macs"],
        "tflite_bytes": info["file_size"],
        "tflm_micro_speech": tflm,
        "seconds": round(time.perf_counter() - started, 1),
        "argv": list(argv if argv is not None else sys.argv[1:]),
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    md = markdown(results, args.frontend)
    (args.out / "results.md").write_text(md)
    console.print(results["task"])
    console.print(f"kws {results['model']} int8: " + metrics_summary(metrics), soft_wrap=True)
    console.print(md, soft_wrap=True)
    console.print(f"{results['tflite_bytes']:,} bytes, best epoch {results['best_epoch']}, "
                  f"{results['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
