"""Firmware benchmark: flash, RAM and QEMU instructions per inference/MAC per model, beside
the tflite-micro interpreter's arena for the same model.

    python benchmarks/firmware.py --out results/firmware [--models micro_speech,ds-cnn-s]

Models: ``micro_speech`` (TFLM's micro_speech_quantized.tflite, micro frontend 49x40) and
``ds-cnn-s|m|l`` (kws DS-CNN shapes on 49x10 MFCC, 12 classes, random weights and random
batch-norm statistics, int8-calibrated on random features: sizes and speed do not depend on
training).  Each is deployed for
``qemu-mps2-an386`` with its frontend, built with arm-none-eabi-gcc -O2 (Cortex-M4 DSP
path), and timed under ``qemu-system-arm -icount shift=0`` (one SysTick tick = 40
instructions).  Each is also deployed for ``qemu-mps2-an385`` (Cortex-M3: no FPU, no DSP
instructions, the portable C kernels) and timed the same way (the M3 columns), unless its
memory plan does not fit that board (then the reason).  The frontends' cost per feature
frame is measured on both boards with ``firmware/tests/frontend_check.c`` (MFCC: FPU on the
M4, soft float on the M3).  Writes ``firmware.md`` (tables) and ``firmware.json`` to
``--out``.

Columns: flash = text + data of the whole firmware (weights + code: app, frontend, kernels,
protocol, board); model RAM = the model's static arena (activations, in-place ops sharing
one buffer, kernel scratch) + its input and output buffers; model stack = the worst-case
stack of ``kws_model_invoke`` and its kernels (GCC ``-fcallgraph-info=su``, same flags as the
firmware), reported beside it (the firmware's reserved stack holds it);
peak RAM = data + bss of the firmware, which includes the frontend state, the feature
window, protocol buffers and the 16 KiB reserved stack; TFLM arena = "Arena allocation
total" from tflite-micro's ``print_allocations()``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # support: the test models (random DS-CNNs)
MICRO_SPEECH = ROOT / "tests" / "fixtures" / "models" / "micro_speech_quantized.tflite"
ALL_MODELS = ("micro_speech", "ds-cnn-s", "ds-cnn-m", "ds-cnn-l")
M4_BOARD = "qemu-mps2-an386"
M3_BOARD = "qemu-mps2-an385"
# The firmware's targets (issue 8, second round): model -> (instructions/MAC at most,
# model RAM / TFLM arena at most); None where a model has no target for that figure.
TARGETS: dict[str, tuple[float | None, float | None]] = {
    "micro_speech": (2.5, None),
    "ds-cnn-s": (1.25, 0.4),
    "ds-cnn-m": (None, 0.5),
    "ds-cnn-l": (None, 0.5),
}


def tflm_arena_bytes(model: Path) -> int | None:
    """tflite-micro's arena total for ``model`` (its C++ prints go to fd 1: a subprocess);
    ``None`` when the interpreter cannot load the model (it aborts the process)."""
    code = ("from tflite_micro.python.tflite_micro import runtime\n"
            f"runtime.Interpreter.from_file({str(model)!r}, arena_size=8 << 20)"
            ".print_allocations()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    m = re.search(r"Arena allocation total (\d+) bytes", proc.stdout + proc.stderr)
    return int(m.group(1)) if m else None


def make_ds_cnn(size: str, out_dir: Path) -> Path:
    """DS-CNN of ``size`` on MFCC 49x10 with random weights, plus its model.json."""
    from support.int8_models import convert, random_ds_cnn

    from kws.features import MfccConfig

    model, rep = random_ds_cnn(size)
    out = out_dir / f"ds-cnn-{size}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "model_int8.tflite").write_bytes(convert(model, rep))
    labels = ["_silence_", "_unknown_"] + [f"word{i}" for i in range(10)]
    (out / "model.json").write_text(json.dumps({
        "model_file": "model_int8.tflite", "labels": labels,
        "frontend": MfccConfig().to_dict()}))
    return out / "model_int8.tflite"


def micro_speech_model(out_dir: Path) -> Path:
    import shutil

    from kws.features import MicroFrontendConfig

    out = out_dir / "micro_speech"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(MICRO_SPEECH, out / "model_int8.tflite")
    (out / "model.json").write_text(json.dumps({
        "model_file": "model_int8.tflite", "labels": ["_silence_", "_unknown_", "yes", "no"],
        "frontend": MicroFrontendConfig().to_dict()}))
    return out / "model_int8.tflite"


def symbol_bytes(elf: Path, names: tuple[str, ...]) -> int:
    """Total size of the named (static) symbols in ``elf``."""
    proc = subprocess.run(["arm-none-eabi-nm", "-S", str(elf)], capture_output=True, text=True)
    total = 0
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[3] in names:
            total += int(parts[1], 16)
    return total


def model_stack_bytes(project: Path, cflags: list[str]) -> int:
    """Worst-case stack of ``kws_model_invoke``: its frame plus the deepest chain of callee
    frames, from GCC's ``-fcallgraph-info=su`` over the generated model and the kernels,
    compiled with the firmware's flags (libgcc helpers, if any are called, count 0)."""
    sources = [project / "generated" / "model.c",
               *sorted((project / "core" / "kernels").glob("*.c"))]
    frames: dict[str, int] = {}
    calls: dict[str, set[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["arm-none-eabi-gcc", *cflags, "-std=c99", "-O2", "-c",
                        "-fcallgraph-info=su", f"-I{project / 'core'}",
                        f"-I{project / 'generated'}", *map(str, sources)],
                       cwd=tmp, check=True, capture_output=True)
        for ci in Path(tmp).glob("*.ci"):
            for line in ci.read_text().splitlines():
                node = re.match(r'node: \{ title: "([^"]+)" label: "[^"]*?(\d+) bytes', line)
                edge = re.match(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"', line)
                if node:
                    frames[node.group(1)] = int(node.group(2))
                elif edge:
                    calls.setdefault(edge.group(1), set()).add(edge.group(2))

    def deepest(fn: str, path: tuple[str, ...]) -> int:
        if fn in path:  # recursion would make the stack unbounded
            raise RuntimeError(f"recursive call chain {' -> '.join((*path, fn))}")
        below = [deepest(c, (*path, fn)) for c in calls.get(fn, ())]
        return frames.get(fn, 0) + max(below, default=0)

    return deepest("kws_model_invoke", ())


def bench_model(name: str, model: Path, work: Path) -> dict[str, Any]:
    from kws.boards import get_board
    from kws.firmware_project.build import build_project
    from kws.firmware_project.deploy import deploy
    from kws.firmware_project.run import bench_project

    project = work / f"project_{name}"
    cfg = deploy(model, project, M4_BOARD)
    build = build_project(project)
    bench = bench_project(project)
    input_size = int(np.prod(cfg["input_shape"]))
    output_size = int(np.prod(cfg["output_shape"]))
    model_ram = cfg["arena_bytes"] + input_size + output_size
    stack = model_stack_bytes(project, list(get_board(M4_BOARD).cflags()))
    tflm = tflm_arena_bytes(model)
    return {
        "model": name,
        "tflite_bytes": cfg["tflite_bytes"],
        "macs": cfg["macs"],
        "flash_bytes": build.flash_bytes,
        "weight_bytes": cfg["weight_bytes"],
        "code_bytes": build.flash_bytes - cfg["weight_bytes"],
        "arena_bytes": cfg["arena_bytes"],
        "model_ram_bytes": model_ram,
        "model_stack_bytes": stack,
        "frontend_state_bytes": symbol_bytes(build.elf, ("frontend",)),
        "stack_reserved_bytes": build.stack,
        "peak_ram_bytes": build.ram_bytes,
        "tflm_arena_bytes": tflm,
        "model_ram_vs_tflm": round(model_ram / tflm, 3) if tflm else None,
        "model_ram_with_stack_vs_tflm": round((model_ram + stack) / tflm, 3) if tflm else None,
        "instructions_per_inference": bench["instructions_per_inference"],
        "instructions_per_mac": bench["instructions_per_mac"],
        **bench_m3(name, model, work),
    }


def bench_m3(name: str, model: Path, work: Path) -> dict[str, Any]:
    """The M3 columns: instructions per inference/MAC on the portable kernels, or why the
    model cannot be deployed there (its memory plan does not fit)."""
    from kws.errors import KwsError
    from kws.firmware_project.build import build_project
    from kws.firmware_project.deploy import deploy
    from kws.firmware_project.run import bench_project

    project = work / f"project_{name}_m3"
    try:
        deploy(model, project, M3_BOARD)
    except KwsError as exc:
        # "FLASH needs N bytes (parts), the board has M (over by K)" -> without the parts.
        return {"m3_error": re.sub(r" \(weights[^)]*\)| \(arena[^)]*\)", "",
                                   str(exc).split(f"{M3_BOARD}: ", 1)[-1])}
    build = build_project(project)
    bench = bench_project(project)
    return {"m3_flash_bytes": build.flash_bytes, "m3_peak_ram_bytes": build.ram_bytes,
            "m3_instructions_per_inference": bench["instructions_per_inference"],
            "m3_instructions_per_mac": bench["instructions_per_mac"]}


def frontend_costs(work: Path) -> list[dict[str, Any]]:
    """Instructions per feature frame of each frontend (defaults) on the M4 and the M3,
    from ``frontend_check`` under ``-icount shift=0`` over one second of noise (the count
    includes printing each frame as hex, the same integer code on both boards)."""
    from support.frontend_check import build_frontend_check, run_frontend_check

    from kws.boards import get_board
    from kws.features import MfccConfig, MicroFrontendConfig

    clip = np.random.default_rng(0).integers(-3000, 3000, 16000).astype(np.int16)
    rows: dict[str, dict[str, Any]] = {k: {"frontend": k} for k in ("micro", "mfcc")}
    for column, board in (("m4", M4_BOARD), ("m3", M3_BOARD)):
        target = get_board(board)
        out = work / f"frontends_{column}"
        out.mkdir()
        elf = build_frontend_check(out, [MicroFrontendConfig()], [MfccConfig()], [clip],
                                   float_abi=target.float_abi, board=board)
        result, _ = run_frontend_check(elf, icount=0, machine=str(target.qemu_machine))
        for kind, frames, ticks in (("micro", result.micro, result.micro_ticks),
                                    ("mfcc", result.mfcc, result.mfcc_ticks)):
            per_frame = ticks[0][0] * 40 / len(frames[0][0])
            rows[kind][f"{column}_instructions_per_frame"] = int(round(per_frame))
    return list(rows.values())


def _fmt(value: float | None, spec: str) -> str:
    return "n/a (TFLM failed to load)" if value is None else format(value, spec)


def _m3(r: dict[str, Any]) -> str:
    if "m3_error" in r:
        return f"does not fit: {r['m3_error']} | —"
    return f"{r['m3_instructions_per_inference']:,} | {r['m3_instructions_per_mac']:.2f}"


def markdown(rows: list[dict[str, Any]], frontends: list[dict[str, Any]]) -> str:
    head = ("| model | .tflite B | MACs | flash B (weights + code) | model RAM B (arena) | "
            "model stack B | peak RAM B | TFLM arena B | model RAM / TFLM | "
            "(+ stack) / TFLM | instr/inference | instr/MAC | M3 instr/inference | "
            "M3 instr/MAC |\n"
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
    lines = [
        f"| {r['model']} | {r['tflite_bytes']:,} | {r['macs']:,} | {r['flash_bytes']:,} "
        f"({r['weight_bytes']:,} + {r['code_bytes']:,}) | {r['model_ram_bytes']:,} "
        f"({r['arena_bytes']:,}) | {r['model_stack_bytes']:,} | {r['peak_ram_bytes']:,} | "
        f"{_fmt(r['tflm_arena_bytes'], ',')} | {_fmt(r['model_ram_vs_tflm'], '.2f')} | "
        f"{_fmt(r['model_ram_with_stack_vs_tflm'], '.2f')} | "
        f"{r['instructions_per_inference']:,} | "
        f"{r['instructions_per_mac']:.2f} | {_m3(r)} |"
        for r in rows
    ]
    notes = ("\nQEMU mps2-an386 (Cortex-M4F, DSP kernels), arm-none-eabi-gcc -O2, -icount "
             "shift=0; M3: QEMU mps2-an385 (Cortex-M3, no FPU/DSP: portable C kernels). Peak "
             "RAM includes the 16 KiB reserved stack, the frontend state and the feature "
             "window.\n")
    fe_head = ("\n| frontend | M4 instr/frame | M3 instr/frame | M3 / M4 |\n"
               "|---|--:|--:|--:|\n")
    fe_lines = [
        f"| {f['frontend']} | {f['m4_instructions_per_frame']:,} | "
        f"{f['m3_instructions_per_frame']:,} | "
        f"{f['m3_instructions_per_frame'] / f['m4_instructions_per_frame']:.2f} |"
        for f in frontends
    ]
    return head + "\n".join(lines) + "\n" + notes + fe_head + "\n".join(fe_lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console
    from rich.progress import Progress

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--models", default=",".join(ALL_MODELS),
                        help=f"comma-separated subset of {', '.join(ALL_MODELS)}")
    args = parser.parse_args(argv)
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(names) - set(ALL_MODELS))
    if unknown:
        parser.error(f"unknown models {unknown} (choose from {', '.join(ALL_MODELS)})")
    console = Console(stderr=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, Progress(console=console) as progress:
        work = Path(tmp)
        task = progress.add_task("benchmarking", total=len(names))
        for name in names:
            progress.update(task, description=f"{name}: model")
            model = micro_speech_model(work) if name == "micro_speech" else make_ds_cnn(
                name.rsplit("-", 1)[1], work)
            progress.update(task, description=f"{name}: build + QEMU")
            rows.append(bench_model(name, model, work))
            progress.advance(task)
        progress.update(task, description="frontends: M4 and M3")
        frontends = frontend_costs(work)
    args.out.mkdir(parents=True, exist_ok=True)
    table = markdown(rows, frontends)
    for path, text in ((args.out / "firmware.md", table),
                       (args.out / "firmware.json", json.dumps(rows, indent=2) + "\n"),
                       (args.out / "firmware_frontends.json",
                        json.dumps(frontends, indent=2) + "\n")):
        tmp_path = path.with_suffix(path.suffix + ".tmp")
        tmp_path.write_text(text)
        os.replace(tmp_path, path)
    print(table)
    for r in rows:
        speed, ram = TARGETS[r["model"]]
        verdicts = []
        if speed is not None:
            ok = r["instructions_per_mac"] <= speed
            verdicts.append(f"instructions/MAC {r['instructions_per_mac']:.2f} <= {speed}: "
                            f"{'met' if ok else 'MISSED'}")
        if ram is not None:
            ratio = r["model_ram_vs_tflm"]
            ok = ratio is not None and ratio <= ram
            verdicts.append(f"model RAM / TFLM arena {_fmt(ratio, '.2f')} <= {ram}: "
                            f"{'met' if ok else 'MISSED'}")
        console.print(f"{r['model']} targets: " + "; ".join(verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
