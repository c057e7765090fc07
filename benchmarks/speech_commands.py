"""Speech Commands 12-class benchmark: DS-CNN on unseen speakers, int8 through tflite-micro.

Trains on a Speech Commands folder (10 words + ``_unknown_`` + ``_silence_``) with a
whole-speaker split, exports full-int8, and evaluates the int8 model on the held-out speakers
with the tflite-micro interpreter (the firmware's arithmetic).  Leaves ``OUT/model_int8.tflite``
and ``OUT/model.json`` (usable by ``kws evaluate``), plus ``OUT/results.json`` and
``OUT/results.md``.

    python benchmarks/speech_commands.py --data ../shared/data/speech_commands_v0.02_test_subset \\
        --out results/speech_commands

Times on a 2-core CPU: about 10 s per epoch for DS-CNN-S on MFCC.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

WORDS = "yes,no,up,down,left,right,on,off,stop,go"


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
    p.add_argument("--unknown-percentage", type=float, default=10.0)
    p.add_argument("--silence-percentage", type=float, default=10.0)
    p.add_argument("--validation-percentage", type=float, default=10.0)
    p.add_argument("--testing-percentage", type=float, default=10.0)
    p.add_argument("--snr-db", default="10,40", help="background noise SNR range LO,HI")
    p.add_argument("--time-mask", type=int, default=10, help="SpecAugment time mask (frames)")
    p.add_argument("--channel-mask", type=int, default=2,
                   help="SpecAugment channel mask (channels)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    args = parse_args(argv)
    from rich.console import Console
    from rich.table import Table

    from kws.engines import open_session
    from kws.evaluate import classification_metrics
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
        silence_percentage=args.silence_percentage,
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
    metrics = classification_metrics(test["y"], outputs.argmax(axis=1), info["labels"])
    results = {
        "task": f"{len(info['labels'])}-class Speech Commands, unseen speakers",
        "data": str(args.data),
        "model": info["architecture"],
        "frontend": info["frontend"],
        "train_examples": trained["counts"]["train"],
        "validation_examples": trained["counts"]["validation"],
        "test_examples": metrics["n"],
        "epochs": args.epochs,
        "best_epoch": trained["best_epoch"],
        "float_accuracy": info["float_accuracy"],
        "int8_accuracy": metrics["accuracy"],
        "int8_balanced_accuracy": metrics["balanced_accuracy"],
        "per_class_recall": {k: v["recall"] for k, v in metrics["per_class"].items()},
        "params": info["params"],
        "macs": info["macs"],
        "tflite_bytes": info["file_size"],
        "seconds": round(time.perf_counter() - started, 1),
        "argv": list(argv if argv is not None else sys.argv[1:]),
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    md = [
        "| model | frontend | test clips (unseen speakers) | float acc | int8 acc (tflite-micro) "
        "| int8 balanced acc | .tflite bytes | params | MACs |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
        f"| {results['model']} | {args.frontend} | {results['test_examples']} "
        f"| {results['float_accuracy']:.1%} | {results['int8_accuracy']:.1%} "
        f"| {results['int8_balanced_accuracy']:.1%} | {results['tflite_bytes']:,} "
        f"| {results['params']:,} | {results['macs']:,} |",
    ]
    (args.out / "results.md").write_text("\n".join(md) + "\n")

    table = Table(title=results["task"])
    for col in ("metric", "value"):
        table.add_column(col)
    for key in ("model", "train_examples", "test_examples", "best_epoch", "float_accuracy",
                "int8_accuracy", "int8_balanced_accuracy", "tflite_bytes", "params", "macs",
                "seconds"):
        v = results[key]
        table.add_row(key, f"{v:.2%}" if isinstance(v, float) and v <= 1 else f"{v:,}"
                      if isinstance(v, int) else str(v))
    console.print(table)
    console.print("per-class recall: " + ", ".join(
        f"{k} {v:.0%}" for k, v in results["per_class_recall"].items() if v is not None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
