"""``kws demo``: the whole pipeline on the bundled sample, offline, in a few minutes.

train (DS-CNN-S on micro features) -> int8 export -> evaluation on unseen speakers with the
tflite-micro interpreter -> the compiled C model (``native``) checked against it -> test
clips planted in background noise at known times, run through the firmware application built
for the host, each word's detection shown with its time -> when the ARM toolchain and QEMU
are installed, the firmware built for the emulated Cortex-M4 and fed the same audio over its
UART, its scores and detections checked against the host.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from kws.commands._args import add_command, bounded
from kws.commands.train import add_force_arg, check_paths
from kws.errors import KwsError

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "datasets" / "speech_commands_sample"
PLANTED_PER_WORD = 3  # test clips of each word in the demo's stream
PLANTED_SNR_DB = 30.0


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "demo", run, "train, export, evaluate and run on the emulated board "
                    "(bundled data, offline)", __doc__, as_written=True)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA,
                   help="dataset root (default: the bundled Speech Commands yes/no sample)")
    p.add_argument("--words", default="yes,no", help="keywords (default: yes,no)")
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="run directory")
    add_force_arg(p)
    p.add_argument("--model", default="ds-cnn-s", help="architecture (default: ds-cnn-s)")
    p.add_argument("--frontend", choices=["micro", "mfcc"], default="micro",
                   help="feature front end")
    p.add_argument("--epochs", type=bounded(int, 1), default=30, help="training epochs")
    p.add_argument("--seed", type=int, default=0, help="seed of the split, weights and "
                   "augmentation")
    p.add_argument("--no-firmware", action="store_true",
                   help="skip the emulated-board part even when the ARM tools are installed")


def _planted_words(args: argparse.Namespace, words: list[str], split: str, model_path: Path,
                   console: Any) -> tuple[dict[str, Any], np.ndarray]:
    """Test clips spliced into background noise at known times, through the firmware app
    built for the host with model.json's detection settings: what it detects, and when."""
    from kws.board_check import demo_noise, match_detections, plant_words, stream_clips
    from kws.host_app import HostApp
    from kws.simulate import run_stream

    clips = stream_clips(args.data, words, PLANTED_PER_WORD, split, args.seed)
    audio, planted = plant_words(clips, demo_noise(args.data), snr_db=PLANTED_SNR_DB)
    app = HostApp.from_model(model_path)
    sim = run_stream(app, [audio])
    match = match_detections(sim.detections, planted)
    s = app.settings
    console.print(f"{len(planted)} words in {sim.duration_s:.0f} s of background noise "
                  f"({PLANTED_SNR_DB:g} dB below the speech); detection: average of "
                  f"{s.average_count}, threshold {s.threshold:g}, stride {s.stride_frames}")
    for word in planted:
        hit = next((d for d in sim.detections if d["label"] == word.label
                    and word.start_s <= d["time_s"] <= word.end_s + 1.0), None)
        result = ("[red]missed" if hit is None else
                  f"[green]detected at {hit['time_s']:.2f} s (score {hit['score']:.2f})")
        console.print(f"  {word.label:>8} spoken {word.start_s:6.2f}-{word.end_s:6.2f} s: "
                      f"{result}")
    for det in match["false"]:
        console.print(f"  [yellow]false detection: {det['label']} at {det['time_s']:.2f} s")
    return {"words": len(planted), "found": len(match["found"]),
            "false": len(match["false"])}, audio


def _firmware_check(model_path: Path, out: Path, clips: list[tuple[str, Any]],
                    console: Any) -> dict[str, Any]:
    """Deploy to the emulated board, stream clips over the UART, compare with the host."""
    from kws.board_check import check_against_host
    from kws.firmware_project.build import build_project
    from kws.firmware_project.deploy import deploy

    project_dir = out / "firmware"
    deploy(model_path, project_dir, "qemu-mps2-an386")
    report = build_project(project_dir)
    console.print(f"firmware built: flash {report.flash_bytes:,} B, RAM {report.ram_bytes:,} B "
                  f"(arena {report.arena_bytes:,} B)")
    checks = check_against_host(project_dir, model_path, clips)
    for c in checks:
        console.print(f"  {c.name}: {c.inferences} inferences on the board, "
                      f"{'identical to' if c.identical else 'DIFFERENT from'} the host; "
                      f"detections: {', '.join(c.detections) or 'nothing'}")
    return {"flash_bytes": report.flash_bytes, "ram_bytes": report.ram_bytes,
            "arena_bytes": report.arena_bytes, "clips": len(checks),
            "clips_identical": sum(c.identical for c in checks),
            "inferences": sum(c.inferences for c in checks)}


def _firmware_step(args: argparse.Namespace, words: list[str], split: str, model_path: Path,
                   planted_audio: np.ndarray, console: Any) -> dict[str, Any] | None:
    """Step 5 when the ARM tools are there and it is not skipped: single clips, them
    joined, and the planted-word stream on the emulated board, checked against the host."""
    from kws.firmware_project.toolchain import have_arm_tools

    if args.no_firmware:
        console.print("firmware step skipped (--no-firmware)")
        return None
    if not have_arm_tools():
        console.print("[yellow]firmware step skipped: arm-none-eabi-gcc / qemu-system-arm not "
                      "installed (sudo apt-get install gcc-arm-none-eabi "
                      "libnewlib-arm-none-eabi qemu-system-arm)")
        return None
    from kws.board_check import demo_streams, first_test_clips
    from kws.console import section

    section(console, "5. firmware on the emulated Cortex-M4 (QEMU mps2-an386)")
    clips = first_test_clips(args.data, words, split, args.seed)
    streams = [*demo_streams(clips), ("planted words", planted_audio)]
    return _firmware_check(model_path, args.out, streams, console)


def run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from kws.console import make_console, section
    from kws.engine_compare import compare_engines
    from kws.evaluate import classification_metrics
    from kws.export import export_run, quantize_inputs
    from kws.features import frontend_config
    from kws.train import TrainConfig, train

    console = make_console(stderr=True)
    check_paths(args.data, args.out, force=args.force)
    words = [w.strip() for w in args.words.split(",") if w.strip()]
    if not words:
        raise KwsError("--words is empty")
    started = time.perf_counter()

    section(console, "1. train")
    config = TrainConfig(data=str(args.data), words=words, model=args.model,
                         frontend=frontend_config(args.frontend).to_dict(), epochs=args.epochs,
                         seed=args.seed)
    trained = train(config, args.out)

    section(console, "2. export int8")
    info = export_run(args.out)
    model_path = args.out / info["model_file"]

    section(console, "3. compiled C model vs the tflite-micro interpreter")
    with np.load(args.out / "test.npz") as test:
        inputs = list(quantize_inputs(test["x"], info["input_scale"], info["input_zero_point"]))
        labels_true = test["y"]
    report = compare_engines(model_path, ["tflm", "native"], inputs, progress=False,
                             keep_outputs=True)
    agreement = report["pairs"][0]
    predicted = np.array([np.argmax(o) for o in report["outputs"]["tflm"]], dtype=np.int64)
    int8 = classification_metrics(labels_true, predicted, info["labels"])
    console.print(f"native vs tflm on {agreement['tensors']} test inputs: "
                  f"{agreement['mismatched_elements']} differing values")

    section(console, "4. planted words through the firmware app built for the host")
    planted, planted_audio = _planted_words(args, words, config.split, model_path, console)

    firmware = _firmware_step(args, words, config.split, model_path, planted_audio, console)

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
    table.add_row("test balanced accuracy, int8", f"{int8['balanced_accuracy']:.1%}")
    unknown_fa = int8["false_accepts"].get("_unknown_")
    if unknown_fa is not None:
        table.add_row("unknown words taken for a keyword, int8",
                      f"{unknown_fa:.1%} of {int8['per_class']['_unknown_']['n']} clips")
    table.add_row("int8 model file", f"{info['file_size']:,} bytes")
    table.add_row("native C == tflite-micro",
                  "yes" if agreement["mismatched_elements"] == 0 else
                  f"NO ({agreement['mismatched_elements']} values differ)")
    table.add_row("planted words detected (host app)",
                  f"{planted['found']}/{planted['words']}, {planted['false']} false")
    if firmware is not None:
        table.add_row("firmware flash / RAM",
                      f"{firmware['flash_bytes']:,} / {firmware['ram_bytes']:,} bytes")
        table.add_row("board == host (scores, detections)",
                      f"{firmware['clips_identical']}/{firmware['clips']} streams "
                      f"({firmware['inferences']} inferences)")
    table.add_row("wall time", f"{time.perf_counter() - started:.0f} s")
    make_console().print(table)
    console.print(f"artifacts: {args.out}/model_int8.tflite, model.json"
                  + (f", {args.out}/firmware/" if firmware else ""))
    ok = agreement["mismatched_elements"] == 0 and (
        firmware is None or firmware["clips_identical"] == firmware["clips"])
    return 0 if ok else 1
