"""``kws demo``: the whole pipeline on the bundled sample, offline, in a few minutes.

train (DS-CNN-S on micro features) -> int8 export -> evaluation on unseen speakers with the
tflite-micro interpreter -> the compiled C model (``native``) checked against it -> when the
ARM toolchain and QEMU are installed, the firmware built for the emulated Cortex-M4 and fed
real clips over its UART, its scores checked against the host.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from kws.errors import KwsError

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "datasets" / "speech_commands_sample"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="train, export, evaluate and run on the emulated board (bundled data, offline)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", type=Path, default=DEFAULT_DATA,
                   help="dataset root (default: the bundled Speech Commands yes/no sample)")
    p.add_argument("--words", default="yes,no", help="keywords (default: yes,no)")
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="run directory")
    p.add_argument("--model", default="ds-cnn-s", help="architecture (default: ds-cnn-s)")
    p.add_argument("--frontend", choices=["micro", "mfcc"], default="micro")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-firmware", action="store_true",
                   help="skip the emulated-board part even when the ARM tools are installed")
    p.set_defaults(func=run)


def _firmware_check(model_path: Path, out: Path, clips: list[tuple[str, np.ndarray]],
                    console: Any) -> dict[str, Any]:
    """Deploy to the emulated board, stream clips over the UART, compare with the host."""
    from kws.firmware_project.build import build_project
    from kws.firmware_project.deploy import deploy
    from kws.firmware_project.host_pipeline import host_scores
    from kws.firmware_project.layout import load_project
    from kws.firmware_project.run import run_project

    project_dir = out / "firmware"
    deploy(model_path, project_dir, "qemu-mps2-an386")
    report = build_project(project_dir)
    project = load_project(project_dir)
    console.print(f"firmware built: flash {report.flash_bytes:,} B, RAM {report.ram_bytes:,} B "
                  f"(arena {report.arena_bytes:,} B)")
    # Each clip alone, then all of them as one continuous stream (the window slides across
    # word boundaries, as it does on a microphone).
    streams = [*clips, (" + ".join(name.split(" ")[0] for name, _ in clips),
                        np.concatenate([audio for _, audio in clips]))]
    same = 0
    inferences = 0
    for name, audio in streams:
        board = run_project(project_dir, audio)
        host = host_scores(audio, project, model_path, engine="tflm")
        board_scores = [s.scores for s in board.scores]
        host_scores_ = [s.scores for s in host]
        equal = len(board_scores) == len(host_scores_) and all(
            np.array_equal(a, b) for a, b in zip(board_scores, host_scores_, strict=True))
        same += equal
        inferences += len(board_scores)
        heard = ", ".join(project["labels"][d.label] for d in board.detections) or "nothing"
        console.print(f"  {name}: {len(board_scores)} inferences on the board, "
                      f"{'identical to' if equal else 'DIFFERENT from'} the host; "
                      f"detections: {heard}")
    return {"flash_bytes": report.flash_bytes, "ram_bytes": report.ram_bytes,
            "arena_bytes": report.arena_bytes, "clips": len(streams), "clips_identical": same,
            "inferences": inferences}


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from kws.engines import compare_outputs, run_model
    from kws.export import export_run, quantize_inputs
    from kws.features import MfccConfig, MicroFrontendConfig
    from kws.firmware_project.toolchain import have_arm_tools
    from kws.train import TrainConfig, train

    console = Console(stderr=True)
    if not args.data.is_dir():
        raise KwsError(f"{args.data}: dataset folder not found")
    started = time.perf_counter()
    frontend = MicroFrontendConfig() if args.frontend == "micro" else MfccConfig()
    words = [w.strip() for w in args.words.split(",") if w.strip()]

    console.rule("[bold]1. train")
    config = TrainConfig(data=str(args.data), words=words, model=args.model,
                         frontend=frontend.to_dict(), epochs=args.epochs, seed=args.seed)
    trained = train(config, args.out)

    console.rule("[bold]2. export int8")
    info = export_run(args.out)
    model_path = args.out / info["model_file"]

    console.rule("[bold]3. compiled C model vs the tflite-micro interpreter")
    test = np.load(args.out / "test.npz")
    q = quantize_inputs(test["x"], info["input_scale"], info["input_zero_point"])
    inputs = list(q)
    agreement = compare_outputs(run_model("tflm", model_path, inputs),
                                run_model("native", model_path, inputs))
    console.print(f"native vs tflm on {agreement['tensors']} test inputs: "
                  f"{agreement['mismatched_elements']} differing values")

    firmware: dict[str, Any] | None = None
    if args.no_firmware:
        console.print("firmware step skipped (--no-firmware)")
    elif not have_arm_tools():
        console.print("[yellow]firmware step skipped: arm-none-eabi-gcc / qemu-system-arm not "
                      "installed (sudo apt-get install gcc-arm-none-eabi "
                      "libnewlib-arm-none-eabi qemu-system-arm)")
    else:
        console.rule("[bold]4. firmware on the emulated Cortex-M4 (QEMU mps2-an386)")
        from kws.audio import load_audio
        from kws.data import load_dataset

        splits = load_dataset(args.data, words, split=config.split, seed=args.seed)
        picked: list[tuple[str, np.ndarray]] = []
        for label in words:
            ex = next((e for e in splits.test if e.label == label), None)
            if ex is not None:
                picked.append((f"{label} ({ex.path.name})", load_audio(ex.path)))
        firmware = _firmware_check(model_path, args.out, picked, console)

    table = Table(title=f"kws demo: {', '.join(words)} on {args.data.name}")
    table.add_column("what")
    table.add_column("result", justify="right")
    table.add_row("model", f"{info['architecture']} ({info['params']:,} params, "
                  f"{info['macs']:,} MACs)")
    table.add_row("frontend", args.frontend)
    table.add_row("train / val / test examples",
                  " / ".join(str(trained["counts"][k]) for k in ("train", "validation", "test")))
    table.add_row("best validation accuracy (float)", f"{trained['best_val_accuracy']:.1%}")
    if info.get("float_accuracy") is not None:
        table.add_row("test accuracy, float", f"{info['float_accuracy']:.1%}")
        table.add_row("test accuracy, int8 (tflite-micro)", f"{info['int8_accuracy']:.1%}")
    table.add_row("int8 model file", f"{info['file_size']:,} bytes")
    table.add_row("native C == tflite-micro",
                  "yes" if agreement["mismatched_elements"] == 0 else
                  f"NO ({agreement['mismatched_elements']} values differ)")
    if firmware is not None:
        table.add_row("firmware flash / RAM",
                      f"{firmware['flash_bytes']:,} / {firmware['ram_bytes']:,} bytes")
        table.add_row("board scores == host scores",
                      f"{firmware['clips_identical']}/{firmware['clips']} streams "
                      f"({firmware['inferences']} inferences)")
    table.add_row("wall time", f"{time.perf_counter() - started:.0f} s")
    Console().print(table)
    console.print(f"artifacts: {args.out}/model_int8.tflite, model.json"
                  + (f", {args.out}/firmware/" if firmware else ""))
    ok = agreement["mismatched_elements"] == 0 and (
        firmware is None or firmware["clips_identical"] == firmware["clips"])
    return 0 if ok else 1
