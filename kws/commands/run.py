"""``kws run``: run an int8 model on one engine over inputs from a ``.npy`` file."""

from __future__ import annotations

import argparse
from pathlib import Path

from kws.commands._args import add_command, add_model_arg

ENGINE_CHOICES = ("tflm", "litert", "native", "qemu")


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "run", run,
                    "run an int8 .tflite on an engine (tflm, litert, native, qemu)",
                    "Run int8 inputs through a model on one engine. X.npy holds one int8 "
                    "input (the model's input size) or a batch [N, ...]; Y.npy gets the int8 "
                    "outputs (batch first when X was a batch). Make X.npy from audio with "
                    "`kws features --int8 --model M.tflite CLIP -o X.npy`.")
    p.add_argument("--engine", required=True, choices=ENGINE_CHOICES,
                   help="engine that runs the model")
    add_model_arg(p)
    p.add_argument("--input", required=True, type=Path, help="int8 .npy input(s)")
    p.add_argument("--output", required=True, type=Path, help="where to write the .npy output")


def load_inputs(path: Path, input_size: int):
    """Split an int8 ``.npy`` into single inputs; returns (inputs, was_batch)."""
    import numpy as np

    from kws.errors import KwsError

    try:
        x = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise KwsError(f"{path}: file not found") from None
    except (OSError, ValueError, EOFError) as exc:
        raise KwsError(f"{path}: not a readable .npy array ({exc})") from None
    if x.dtype != np.int8:
        raise KwsError(f"{path}: dtype is {x.dtype}; the model takes int8 (make it from audio "
                       "with `kws features --int8 --model MODEL CLIP -o X.npy`)")
    if x.size == 0:
        raise KwsError(f"{path}: empty array")
    if x.size == input_size:
        return [x], False
    if x.ndim >= 2 and x[0].size == input_size:
        return list(x), True
    raise KwsError(f"{path}: shape {list(x.shape)} is neither one input of {input_size} "
                   "values nor a batch [N, ...] of them")


def save_output(path: Path, array) -> None:
    """Write ``array`` to ``path`` through a temporary file (no partial output)."""
    from kws.errors import KwsError
    from kws.fileio import save_npy_atomic

    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise KwsError(f"{path}: output directory {parent} does not exist")
    save_npy_atomic(path, array)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from kws.console import make_console
    from kws.engines import check_model, run_model

    inp = check_model(args.engine, args.model).input
    inputs, batch = load_inputs(args.input, int(np.prod(inp.shape)))
    console = make_console(stderr=True)
    with console.status(f"running {len(inputs)} input(s) on {args.engine}"):
        outputs = run_model(args.engine, args.model, inputs)
    result = np.stack(outputs) if batch else outputs[0]
    save_output(args.output, result)
    console.print(f"{args.output}: {list(result.shape)} int8 from {args.engine}")
    return 0
