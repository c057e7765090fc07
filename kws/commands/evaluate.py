"""``kws evaluate``: accuracy of an int8 model on a dataset folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kws.commands._args import add_command, add_json_arg, add_model_arg


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "evaluate", run, "evaluate an int8 model on a dataset",
                    "Run every clip of a dataset through an exported int8 model (features "
                    "and quantization from its model.json) and report accuracy, balanced "
                    "accuracy, false accepts (share of _unknown_/_silence_ clips labelled as "
                    "a keyword), per-class recall/precision and the confusion matrix.")
    add_model_arg(p)
    p.add_argument("--data", type=Path, required=True, help="dataset root")
    p.add_argument("--engine", choices=["tflm", "litert"], default="tflm",
                   help="tflm: tflite-micro interpreter (firmware semantics); litert: desktop")
    add_json_arg(p)
    p.add_argument("--plot", type=Path, help="save the confusion matrix image (e.g. cm.png)")
    p.add_argument("--cache-dir", type=Path,
                   help="feature cache folder (default .cache/kws/features or "
                   "$KWS_CACHE_DIR/features)")


def run(args: argparse.Namespace) -> int:
    from kws.console import make_console
    from kws.evaluate import evaluate_model, print_report

    result = evaluate_model(
        args.model, args.data, engine=args.engine, cache_dir=args.cache_dir, plot=args.plot,
        progress=True, feature_progress=not args.json,
    )
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        print_report(result, make_console())
    return 0
