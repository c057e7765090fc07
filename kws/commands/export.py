"""``kws export``: full-int8 quantization of a training run."""

from __future__ import annotations

import argparse
from pathlib import Path

from kws.commands._args import add_command


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "export", run, "quantize a trained run to an int8 .tflite",
                    "Post-training full-int8 quantization (calibrated on the run's saved "
                    "training features). Writes RUN_DIR/model_int8.tflite and "
                    "RUN_DIR/model.json.")
    p.add_argument("run_dir", type=Path, help="directory written by `kws train`")
    p.add_argument("--data", type=Path, help="rebuild the test split from this dataset "
                   "(default: the run's saved test features)")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def run(args: argparse.Namespace) -> int:
    from kws.export import export_run

    export_run(args.run_dir, args.data, progress=not args.quiet)
    return 0
