"""``kws features``: compute frontend features of one audio file into a .npy file."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from kws.commands.frontend_args import add_frontend_args, frontend_from_args
from kws.errors import KwsError
from kws.fileio import save_npy_atomic


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "features",
        help="compute features of an audio file",
        description="Compute features through the C core (the same code the firmware runs). "
        "Output is [frames, channels]: uint16 for micro, float32 for mfcc.",
    )
    p.add_argument("input", type=Path, help="audio file (WAV/FLAC/OGG; any rate, mono or stereo)")
    p.add_argument("-o", "--output", type=Path, required=True, help="output .npy path")
    add_frontend_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kws.audio import load_audio
    from kws.features import compute_features

    config = frontend_from_args(args)
    try:
        audio = load_audio(args.input, sample_rate=config.sample_rate)
        features = compute_features(audio, config)
    except ValueError as exc:
        raise KwsError(f"{args.input}: {exc}") from exc
    if args.output.suffix != ".npy":
        raise KwsError(f"{args.output}: output must be a .npy file")
    save_npy_atomic(args.output, features)
    print(f"{args.output}: {features.shape[0]} frames x {features.shape[1]} "
          f"{'uint16' if features.dtype == np.uint16 else 'float32'} ({args.frontend})")
    return 0
