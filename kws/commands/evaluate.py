"""``kws evaluate``: accuracy of an int8 model on a dataset folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="evaluate an int8 model on a dataset",
        description="Run every clip of a dataset through an exported int8 model (features "
        "and quantization from its model.json) and report accuracy, balanced accuracy, "
        "false accepts (share of _unknown_/_silence_ clips labelled as a keyword), "
        "per-class recall/precision and the confusion matrix.",
    )
    p.add_argument("--model", type=Path, required=True, help="int8 .tflite (model.json beside)")
    p.add_argument("--data", type=Path, required=True, help="dataset root")
    p.add_argument("--engine", choices=["tflm", "litert"], default="tflm",
                   help="tflm: tflite-micro interpreter (firmware semantics); litert: desktop")
    p.add_argument("--json", action="store_true", help="print one JSON object to stdout")
    p.add_argument("--plot", type=Path, help="save the confusion matrix image (e.g. cm.png)")
    p.add_argument("--cache-dir", type=Path, help="feature cache folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kws.evaluate import evaluate_model, print_report

    result = evaluate_model(
        args.model, args.data, engine=args.engine, cache_dir=args.cache_dir, plot=args.plot,
        progress=True, feature_progress=not args.json,
    )
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        print_report(result)
    return 0
