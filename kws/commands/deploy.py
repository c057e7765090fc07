"""``kws deploy``: generate a self-contained firmware project for a board."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kws.boards import DEFAULT_BOARD, board_names
from kws.commands._args import add_command, add_json_arg, add_model_arg
from kws.detector import add_detector_args, detector_overrides


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "deploy", run,
                    "generate a firmware project (model C, frontend tables, app, board, "
                    "Makefile)",
                    "Compile an int8 .tflite into C and generate a project directory that "
                    "`make` builds with arm-none-eabi-gcc alone (see `kws firmware build`). "
                    "Labels and the frontend come from model.json beside the model (kws "
                    "export).")
    add_model_arg(p, positional=True)
    p.add_argument("--board", default=DEFAULT_BOARD,
                   help=f"board under firmware/boards: {', '.join(board_names())} (default: "
                   f"{DEFAULT_BOARD}); an Arduino board (nano33ble) gets an Arduino library "
                   "named after --out")
    p.add_argument("--out", required=True, type=Path,
                   help="project directory (replaced when empty or an earlier project)")
    p.add_argument("--force", action="store_true",
                   help="replace --out even when it holds files kws did not write")
    p.add_argument("--frontend", choices=("micro", "mfcc", "none"),
                   help="override model.json's frontend; 'none' builds a model-only firmware")
    add_detector_args(p)
    add_json_arg(p, "project.json")


def run(args: argparse.Namespace) -> int:
    from kws.console import make_console
    from kws.firmware_project.deploy import deploy

    console = make_console(stderr=True)
    with console.status(f"compiling {args.model} for {args.board}"):
        cfg = deploy(args.model, args.out, args.board, frontend=args.frontend,
                     force=args.force, **detector_overrides(args))
    if args.json:
        print(json.dumps(cfg, indent=2))
        return 0
    print(f"wrote {args.out} for {cfg['board']}: {cfg['frontend_kind']} frontend, "
          f"window {cfg['frames']}x{cfg['channels']}, stride {cfg['stride_frames']} frames, "
          f"{len(cfg['labels'])} labels, arena {cfg['arena_bytes']} B, weights "
          f"{cfg['weight_bytes']} B, {cfg['macs']:,} MACs")
    if cfg["package"] == "arduino-library":
        print(f"an Arduino library: open examples/kws_micro_speech in the Arduino IDE or build "
              f"it with arduino-cli (see {args.out}/README.md), then "
              f"`kws flash SKETCH.bin --board {cfg['board']}`")
    else:
        print(f"build it with `kws firmware build {args.out}` or `make -C {args.out}`")
    return 0
