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
    "stderr), 2 on an error. With --qemu DIR or --port PORT it streams the --wav clips to "
    "a device instead and compares its features, scores and detections with the host "
    "pipeline's (exit 1 on any difference, the first one reported)."
)


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "compare", run,
                    "compare engines (tflm, native, litert, qemu) on the same int8 inputs",
                    DESCRIPTION)
    add_model_arg(p)
    p.add_argument("--engines", default="tflm,native",
                   help="comma-separated engines (default tflm,native); qemu:BOARD is "
                   "the firmware on an emulated board, e.g. qemu:qemu-mps2-an385")
    p.add_argument("--random", type=int, default=None, metavar="N",
                   help="N random int8 inputs (default 500 when --wav is not given)")
    p.add_argument("--wav", type=Path, metavar="PATH",
                   help="also run the features of every WAV under the folder PATH (needs "
                   "model.json beside the model); with --qemu/--port: a WAV or a folder of "
                   "them, streamed to the device")
    device = p.add_mutually_exclusive_group()
    device.add_argument("--qemu", type=Path, metavar="DIR",
                        help="compare the built firmware project DIR, run under QEMU with its "
                        "UART on a local TCP port, against the host pipeline stage by stage "
                        "(features, scores, detections)")
    device.add_argument("--port", metavar="PORT",
                        help="the same against a board on serial port PORT (a device path or "
                        "a pyserial URL such as socket://host:port); needs --project")
    p.add_argument("--project", type=Path, metavar="DIR",
                   help="with --port: the project the board was flashed from (`kws deploy` "
                   "output; its project.json holds the detection settings)")
    p.add_argument("--baud", type=int, default=115200, help="with --port: baud rate")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="with --qemu/--port: only the first N WAVs")
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

    open_model(args.model)  # one line for a missing, damaged or unsupported model
    if args.qemu or args.port:
        return _run_device(args)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
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


def _run_device(args: argparse.Namespace) -> int:
    """``--qemu``/``--port``: the device against the host pipeline, clip by clip."""
    from contextlib import ExitStack

    from kws.device_check import compare_device
    from kws.engine_compare import wav_paths
    from kws.errors import KwsError
    from kws.firmware_project.layout import load_project
    from kws.link import Link

    if args.wav is None:
        raise KwsError("--qemu/--port need --wav (a WAV or a folder of them)")
    project_dir = args.qemu or args.project
    if project_dir is None:
        raise KwsError("--port needs --project DIR (the project the board was flashed from)")
    project = load_project(project_dir)
    clips = wav_paths(args.wav, args.limit)
    with ExitStack() as stack:
        if args.qemu:
            from kws.firmware_project.run import start_project_qemu

            session = stack.enter_context(start_project_qemu(args.qemu))
            url, device, in_flight = session.url, "qemu", 8
        else:
            # A board's receive buffer holds about two AUDIO frames (2 KiB on the Discovery).
            url, device, in_flight = args.port, "port", 1
        # A slow emulator may pause mid-frame: give partial frames up only after 5 s.
        link = stack.enter_context(Link(url, args.baud, timeout=20.0, idle_flush=5.0))
        report = compare_device(link, project, args.model, clips, device,
                                progress=not args.json, in_flight=in_flight)
    if args.json:
        print(json.dumps(report))
    else:
        _print_device_report(report, url)
    return 1 if any(report["mismatches"].values()) else 0


def _print_device_report(report: dict, url: str) -> None:
    from kws.console import make_console

    console = make_console()
    m = report["mismatches"]
    console.print(f"{report['clips']} clips on {url}: {report['pairs'][0]['tensors']} score "
                  f"vectors, {report['detections']} detections; mismatches: "
                  f"features {m['features']}, scores {m['scores']}, "
                  f"detections {m['detections']}")
    first = report["first_mismatch"]
    if first is None:
        console.print("device == host: features, scores and detections bit for bit")
        return
    console.print(f"{len(report['mismatched_clips'])} clips differ; first: {first['clip']}, "
                  f"stage {first['stage']} ({first['tensor']}"
                  + (f", frame {first['frame_index']}" if "frame_index" in first else "")
                  + (f", inference {first['inference']}" if "inference" in first else "")
                  + ")", markup=False)
    console.print(f"  host:   {first['host']}", markup=False)
    console.print(f"  device: {first['device']}", markup=False)


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
