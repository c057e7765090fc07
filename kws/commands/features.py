"""``kws features``: compute frontend features of one audio file into a .npy file."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from kws.commands.frontend_args import add_frontend_args, frontend_from_args
from kws.errors import KwsError
from kws.fileio import save_npy_rows_atomic


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "features",
        help="compute features of an audio file",
        description="Compute features through the C core (the same code the firmware runs). "
        "Output is [frames, channels]: uint16 for micro, float32 for mfcc.  Files of any "
        "length stream through in constant memory.",
    )
    p.add_argument("input", type=Path, help="audio file (WAV/FLAC/OGG; any rate, mono or stereo)")
    p.add_argument("-o", "--output", type=Path, required=True, help="output .npy path")
    add_frontend_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kws.audio import iter_audio_blocks
    from kws.features import MicroFrontendConfig, num_channels
    from kws.features.mfcc import MfccFrontend
    from kws.features.micro import MicroFrontend

    config = frontend_from_args(args)
    if args.output.suffix != ".npy":
        raise KwsError(f"{args.output}: output must be a .npy file")
    micro = isinstance(config, MicroFrontendConfig)
    try:
        # The streaming front end gives the same bits for any block split as for one call.
        frontend = MicroFrontend(config) if micro else MfccFrontend(config)
        blocks = iter_audio_blocks(args.input, sample_rate=config.sample_rate)
        frames = save_npy_rows_atomic(
            args.output, (frontend.process(b) for b in blocks),
            np.uint16 if micro else np.float32, num_channels(config),
        )
    except ValueError as exc:
        raise KwsError(f"{args.input}: {exc}") from exc
    print(f"{args.output}: {frames} frames x {num_channels(config)} "
          f"{'uint16' if micro else 'float32'} ({args.frontend})")
    return 0
