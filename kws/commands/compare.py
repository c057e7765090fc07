"""``kws compare``: run the same inputs on several engines and report where they differ."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kws.commands._args import add_command, add_json_arg, add_model_arg

DESCRIPTION = (
    "Runs random int8 inputs and/or the quantized features of WAV files through a model on "
    "each engine and reports, per engine pair, how many output tensors and elements differ "
    "and the largest |difference|. tflm (tflite-micro) is the reference; LiteRT rounds "
    "FULLY_CONNECTED differently and may differ by 1. Exit status, as diff's: 0 when all "
    "engines agree on every output, 1 when any pair differs (each such pair is named on "
    "stderr), 2 on an error."
)


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "compare", run,
                    "compare engines (tflm, native, litert, qemu) on the same int8 inputs",
                    DESCRIPTION)
    add_model_arg(p)
    p.add_argument("--engines", default="tflm,native",
                   help="comma-separated engines (default tflm,native)")
    p.add_argument("--random", type=int, default=None, metavar="N",
                   help="N random int8 inputs (default 500 when --wav is not given)")
    p.add_argument("--wav", type=Path, metavar="DIR",
                   help="also run the features of every WAV under DIR (needs model.json "
                   "beside the model)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    add_json_arg(p)
    p.add_argument("--strict", action="store_true",
                   help="no effect, kept for old scripts: any difference exits 1")


def run(args: argparse.Namespace) -> int:
    from kws.engine_compare import (
        compare_engines,
        differing_pairs,
        random_inputs,
        wav_inputs,
    )
    from kws.errors import KwsError
    from kws.modelinfo import open_model

    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    open_model(args.model)  # one line for a missing, damaged or unsupported model
    count = args.random if args.random is not None else (0 if args.wav else 500)
    if count < 0:
        raise KwsError(f"--random must be >= 0 (got {count})")
    inputs = random_inputs(args.model, count, args.seed)
    wav_count = 0
    if args.wav:
        wavs, _ = wav_inputs(args.model, args.wav)
        inputs += wavs
        wav_count = len(wavs)
    if not inputs:
        raise KwsError("nothing to compare (--random 0 and no --wav)")
    report = compare_engines(args.model, engines, inputs, progress=not args.json)
    report["random_inputs"], report["wav_inputs"] = count, wav_count
    if args.json:
        print(json.dumps(report))
    else:
        _print_table(report, f"{args.model.name}: {len(inputs)} inputs ({count} random, "
                     f"{wav_count} wav)")
    differ = differing_pairs(report)
    for pair in differ:
        print(f"kws compare: {pair}", file=sys.stderr)
    return 1 if differ else 0


def _print_table(report: dict, title: str) -> None:
    from rich.table import Table

    from kws.console import make_console

    table = Table(title=title)
    for col in ("a", "b", "tensors", "mismatched tensors", "mismatched elements",
                "max |diff|", "argmax differs"):
        table.add_column(col, justify="right" if col not in ("a", "b") else "left")
    for p in report["pairs"]:
        table.add_row(p["a"], p["b"], str(p["tensors"]), str(p["mismatched_tensors"]),
                      str(p["mismatched_elements"]), str(p["max_abs_diff"]),
                      str(p["argmax_mismatches"]))
    make_console().print(table)
