"""``kws features``: compute frontend features of one audio file into a .npy file."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from kws.commands._args import add_command, mark_model_arg
from kws.commands.frontend_args import (
    add_frontend_args,
    frontend_from_args,
    frontend_options_given,
)
from kws.errors import KwsError
from kws.fileio import save_npy_atomic, save_npy_rows_atomic

DESCRIPTION = (
    "Compute features through the C core (the same code the firmware runs). Output is "
    "[frames, channels]: uint16 for micro, float32 for mfcc. With --model, the frontend is "
    "the model's (its model.json); with --int8 too, the output is what the model takes: int8 "
    "[windows, *model input shape], one window every --stride-frames frames as the firmware "
    "runs them (for `kws run --input`)."
)


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "features", run, "compute features of an audio file", DESCRIPTION)
    p.add_argument("input", type=Path, help="audio file (WAV/FLAC/OGG; any rate, mono or stereo)")
    p.add_argument("-o", "--output", type=Path, required=True, help="output .npy path")
    p.add_argument("--model", type=Path,
                   help="int8 .tflite whose frontend to use (model.json beside it), or a "
                   "shipped model's name (kws models)")
    mark_model_arg(p)
    p.add_argument("--int8", action="store_true",
                   help="write the model's int8 input windows (needs --model)")
    p.add_argument("--stride-frames", type=int,
                   help="with --int8: frames between windows (default: 10, as kws deploy)")
    add_frontend_args(p)


def run(args: argparse.Namespace) -> int:
    from kws.audio import iter_audio_blocks
    from kws.features.quantize import InputContract, frontend_kind

    if args.output.suffix != ".npy":
        raise KwsError(f"{args.output}: output must be a .npy file")
    if args.int8 and args.model is None:
        raise KwsError("--int8 needs --model (the int8 input is the model's)")
    if args.stride_frames is not None and not args.int8:
        raise KwsError("--stride-frames applies to --int8 only")
    contract = None
    if args.model is not None:
        if frontend_options_given(args):
            raise KwsError(f"{', '.join(frontend_options_given(args))}: the frontend comes "
                           f"from {args.model}'s model.json")
        if not args.model.is_file():
            raise KwsError(f"{args.model}: model file not found")
        contract = InputContract.from_model(args.model, args.stride_frames)
    config = contract.frontend if contract else frontend_from_args(args)
    kind = frontend_kind(config)
    frontend = kind.streaming(config)
    # Blocks of any length stream through: the frontend gives the same bits for any split.
    blocks = (frontend.process(b)
              for b in iter_audio_blocks(args.input, sample_rate=config.sample_rate))
    try:
        if contract is None or not args.int8:
            frames = save_npy_rows_atomic(args.output, _not_empty(blocks, args.input, config),
                                          kind.feature_dtype, kind.num_features(config))
            print(f"{args.output}: {frames} frames x {kind.num_features(config)} "
                  f"{np.dtype(kind.feature_dtype).name} ({kind.name})")
            return 0
        # int8 frames are 1 byte a value: the windows are built from all of them at once.
        quantized = np.concatenate([contract.quantize(f) for f in blocks])
    except ValueError as exc:
        raise KwsError(f"{args.input}: {exc}") from exc
    ends, windows = contract.windows(quantized)
    if not ends:
        raise KwsError(f"{args.input}: {len(quantized)} feature frames, shorter than one "
                       f"model window ({contract.window_frames} frames)")
    save_npy_atomic(args.output, windows)
    print(f"{args.output}: {len(ends)} int8 windows {list(windows.shape[1:])} of "
          f"{contract.window_frames} {kind.name} frames, every {contract.stride_frames} "
          f"frames (ending at frames {', '.join(map(str, ends))})")
    return 0


def _not_empty(blocks: Iterator[np.ndarray], path: Path, config: Any) -> Iterator[np.ndarray]:
    """``blocks``, refusing a clip too short for one frame (no empty output is written)."""
    frames = 0
    for block in blocks:
        frames += len(block)
        yield block
    if frames == 0:
        raise KwsError(f"{path}: shorter than one {config.window_size * 1000 // config.sample_rate}"
                       f" ms analysis window ({config.window_size} samples): no feature frames")
