"""``kws compare``: run the same inputs on several engines and report where they differ."""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="compare engines (tflm, native, litert, qemu) on the same int8 inputs",
        description="Runs random int8 inputs and/or the quantized features of WAV files "
        "through a model on each engine and reports, per engine pair, how many output "
        "tensors and elements differ and the largest |difference|. tflm (tflite-micro) is "
        "the reference; LiteRT rounds FULLY_CONNECTED differently and may differ by 1.",
    )
    p.add_argument("--model", required=True, type=Path, help="int8 .tflite model")
    p.add_argument("--engines", default="tflm,native",
                   help="comma-separated engines (default tflm,native)")
    p.add_argument("--random", type=int, default=None, metavar="N",
                   help="N random int8 inputs (default 500 when --wav is not given)")
    p.add_argument("--wav", type=Path, metavar="DIR",
                   help="also run the features of every WAV under DIR (needs model.json "
                   "beside the model)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when any pair not involving litert differs")
    p.set_defaults(func=run)


def wav_inputs(model_path: Path, wav_dir: Path) -> tuple[list[Any], list[str]]:
    """int8 model inputs from every WAV under ``wav_dir`` using ``model.json``'s frontend.

    Each clip is cut or zero-padded at its end to exactly the model's frame count.
    """
    import numpy as np

    from kws.audio import load_audio
    from kws.errors import KwsError
    from kws.export import quantize_inputs
    from kws.features import compute_features, frontend_from_dict, num_channels, to_model_input
    from kws.modelinfo import io_quantization

    info_path = model_path.parent / "model.json"
    try:
        info = json.loads(info_path.read_text())
        frontend = frontend_from_dict(info["frontend"])
        scale, zero_point = float(info["input_scale"]), int(info["input_zero_point"])
    except FileNotFoundError:
        raise KwsError(f"{info_path}: not found (--wav needs the model's model.json)") from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise KwsError(f"{info_path}: invalid model.json ({exc})") from None
    if not wav_dir.is_dir():
        raise KwsError(f"{wav_dir}: not a directory")
    paths = sorted(p for p in wav_dir.rglob("*") if p.suffix.lower() == ".wav")
    if not paths:
        raise KwsError(f"{wav_dir}: no .wav files")
    in_q, _ = io_quantization(model_path)
    size = int(np.prod(in_q.shape))
    channels = num_channels(frontend)
    if size % channels:
        raise KwsError(f"{model_path}: input size {size} is not a whole number of "
                       f"{channels}-channel frames")
    frames = size // channels
    window = frontend.window_ms * frontend.sample_rate // 1000
    step = frontend.step_ms * frontend.sample_rate // 1000
    samples = window + (frames - 1) * step
    inputs = []
    for p in paths:
        audio = load_audio(p, frontend.sample_rate)
        fitted = np.zeros(samples, np.int16)
        fitted[: min(samples, len(audio))] = audio[:samples]
        features = to_model_input(compute_features(fitted, frontend), frontend)
        inputs.append(quantize_inputs(features, scale, zero_point).reshape(in_q.shape))
    return inputs, [str(p) for p in paths]


def compare(
    model_path: Path, engines: list[str], inputs: list[Any], progress: bool = True
) -> dict[str, Any]:
    """Run ``inputs`` on every engine; return ``{"pairs": [...], "inputs": n}``."""
    from rich.progress import Progress

    from kws.engines import compare_outputs, get_engine, run_model

    for name in engines:
        get_engine(name)  # fail early on an unknown engine
    outputs: dict[str, list[Any]] = {}
    chunk = 50
    with Progress(transient=True, disable=not progress) as bar:
        for name in engines:
            task = bar.add_task(f"{name}", total=len(inputs))
            result: list[Any] = []
            for start in range(0, len(inputs), chunk):
                result += run_model(name, model_path, inputs[start : start + chunk])
                bar.advance(task, len(inputs[start : start + chunk]))
            outputs[name] = result
    pairs = []
    for a, b in itertools.combinations(engines, 2):
        pairs.append({"a": a, "b": b, **compare_outputs(outputs[a], outputs[b])})
    return {"model": str(model_path), "inputs": len(inputs), "pairs": pairs}


def run(args: argparse.Namespace) -> int:
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from kws.errors import KwsError
    from kws.modelinfo import io_quantization

    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if len(engines) < 2:
        raise KwsError(f"--engines needs at least two engines (got {args.engines!r})")
    if len(set(engines)) != len(engines):
        raise KwsError(f"--engines lists an engine twice ({args.engines!r})")
    if not args.model.is_file():
        raise KwsError(f"{args.model}: model file not found")
    count = args.random if args.random is not None else (0 if args.wav else 500)
    if count < 0:
        raise KwsError(f"--random must be >= 0 (got {count})")
    in_q, _ = io_quantization(args.model)
    rng = np.random.default_rng(args.seed)
    inputs = [rng.integers(-128, 128, size=in_q.shape, dtype=np.int16).astype(np.int8)
              for _ in range(count)]
    wav_count = 0
    if args.wav:
        wavs, _ = wav_inputs(args.model, args.wav)
        inputs += wavs
        wav_count = len(wavs)
    if not inputs:
        raise KwsError("nothing to compare (--random 0 and no --wav)")
    report = compare(args.model, engines, inputs, progress=not args.json)
    report["random_inputs"], report["wav_inputs"] = count, wav_count
    strict_fail = any(
        p["mismatched_tensors"] for p in report["pairs"] if "litert" not in (p["a"], p["b"])
    )
    if args.json:
        print(json.dumps(report))
    else:
        console = Console()
        table = Table(title=f"{args.model.name}: {len(inputs)} inputs "
                      f"({count} random, {wav_count} wav)")
        for col in ("a", "b", "tensors", "mismatched tensors", "mismatched elements",
                    "max |diff|", "argmax differs"):
            table.add_column(col, justify="right" if col not in ("a", "b") else "left")
        for p in report["pairs"]:
            table.add_row(p["a"], p["b"], str(p["tensors"]), str(p["mismatched_tensors"]),
                          str(p["mismatched_elements"]), str(p["max_abs_diff"]),
                          str(p["argmax_mismatches"]))
        console.print(table)
    return 1 if args.strict and strict_fail else 0
