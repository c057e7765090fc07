"""The firmware's memory, planned before linking and measured from the linked image.

:func:`memory_plan` adds up what a deployed project will hold (``kws deploy``): in RAM the
model's arena and input/output buffers, the reserved stack, the frontend state, the
feature window and score history, the protocol buffers; in flash the weights and an
estimate of the code and tables.  :func:`check_plan` refuses a plan that does not fit the
board's ``ram_bytes`` / ``flash_bytes`` with the numbers, before the linker would fail with
a bare "region overflowed".  :func:`measured_memory` reads the same figures back from the
built ELF's symbol table (``arm-none-eabi-nm``) and :func:`archive_members` the libc/libgcc
members that the link map says were pulled in.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from kws.boards import Board
from kws.errors import KwsError
from kws.firmware_project.toolchain import find_tool

# The linker scripts' default main stack (PROVIDE(_stack_size = 16K)).
DEFAULT_STACK_BYTES = 16 * 1024
# Room for the scalars and pointers of a frontend state beside its buffers.
_STATE_SCALARS = 256
# Code and constant tables, measured on the QEMU boards with -O2 (app, protocol, board,
# kernels, the frontend's C and tables) and rounded up: an estimate, checked against the
# image by the tests.
CODE_ESTIMATE_BYTES = {"none": 16 * 1024, "micro": 20 * 1024, "mfcc": 28 * 1024}
# Protocol framing around a payload (header, CRC, parser state).
_FRAME_OVERHEAD = 32
# RAM figures (plan keys) -> the static symbols of firmware/app that hold them.
MEASURED_SYMBOLS = {
    "arena": ("arena",),
    "model_io": ("model_input", "model_output", "tensor_output", "bench_input"),
    "frontend_state": ("frontend", "frame"),
    "feature_window": ("window_rows", "window", "score_history", "score_sums", "scores"),
    "protocol_buffers": ("parser", "audio_samples", "send_buffer"),
}


def _frontend_state_bytes(kind: str, defines: dict[str, Any]) -> int:
    """The frontend state's buffers, from the capacity macros (``kws_config.h``)."""
    if kind == "none":
        return 0
    window = int(defines["KWS_MAX_WINDOW_SIZE"])
    fft = int(defines["KWS_MAX_FFT_SIZE"])
    channels = int(defines["KWS_MAX_CHANNELS"])
    frame_buffer = 2 * window
    if kind == "micro":
        # window output, FFT input + work, output bins, filterbank accumulators, noise
        # estimate, the uint16 output frame.
        buffers = (2 * window + 2 * 4 * (fft // 2) + 4 * (fft // 2 + 1)
                   + 8 * (channels + 1) + 4 * channels + 2 * channels)
    else:
        # float window, real FFT spectrum, magnitudes, mel energies, the float MFCC frame.
        buffers = (4 * window + 4 * (fft + 2) + 4 * (fft // 2 + 1) + 4 * channels
                   + 4 * int(defines["KWS_MAX_MFCC"]))
    return frame_buffer + buffers + _STATE_SCALARS


def memory_plan(board: Board, cfg: dict[str, Any]) -> dict[str, Any]:
    """The planned RAM and flash of a project (``cfg``: its ``project.json`` contents).

    Returns
    -------
    dict
        ``ram`` and ``flash``: component -> bytes; ``ram_bytes`` / ``flash_bytes``: their
        sums; ``ram_available`` / ``flash_available``: the board's (0: not stated).
    """
    input_size = int(cfg["frames"] * cfg["channels"]) or _size(cfg["input_shape"])
    output_size = _size(cfg["output_shape"])
    labels = len(cfg["labels"])
    kind = cfg["frontend_kind"]
    ram = {
        "arena": int(cfg["arena_bytes"]),
        "model_io": input_size + 2 * output_size,
        "stack": board.stack_bytes or DEFAULT_STACK_BYTES,
        "frontend_state": _frontend_state_bytes(kind, cfg["defines"]),
        "feature_window": (input_size + (cfg["average_count"] + 4) * labels
                           + _STATE_SCALARS // 2 if kind != "none" else 0),
        "protocol_buffers": (2 * int(cfg["max_payload"]) + output_size + 16
                             + 5 * cfg["channels"] + _FRAME_OVERHEAD),
    }
    flash = {"weights": int(cfg["weight_bytes"]), "code": CODE_ESTIMATE_BYTES[kind]}
    return {"ram": ram, "flash": flash, "ram_bytes": sum(ram.values()),
            "flash_bytes": sum(flash.values()), "ram_available": board.ram_bytes,
            "flash_available": board.flash_bytes}


def _size(shape: list[int]) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _parts(figures: dict[str, int]) -> str:
    return " + ".join(f"{name} {value}" for name, value in figures.items())


def check_plan(model: Path, plan: dict[str, Any], board: Board) -> None:
    """KwsError, one line with the numbers, when the plan exceeds the board's RAM or flash."""
    for region in ("ram", "flash"):
        need, have = plan[f"{region}_bytes"], plan[f"{region}_available"]
        if have and need > have:
            raise KwsError(
                f"{model}: does not fit {board.name}: {region.upper()} needs {need} bytes "
                f"({_parts(plan[region])}), the board has {have} "
                f"(over by {need - have})")


def symbol_sizes(elf: Path) -> dict[str, int]:
    """Symbol name -> size in bytes for every sized symbol of ``elf`` (``nm -S``)."""
    proc = subprocess.run([find_tool("arm-none-eabi-nm"), "-S", str(elf)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise KwsError(f"{elf}: arm-none-eabi-nm failed: {proc.stderr.strip()}")
    sizes: dict[str, int] = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4:
            sizes[parts[3]] = sizes.get(parts[3], 0) + int(parts[1], 16)
    return sizes


def measured_memory(elf: Path, stack: int, flash_bytes: int) -> dict[str, Any]:
    """The plan's components read from ``elf``'s symbols (and its ``.stack``); ``code`` is
    the rest of ``flash_bytes`` (code, frontend tables, constants)."""
    sizes = symbol_sizes(elf)
    ram = {key: sum(sizes.get(n, 0) for n in names) for key, names in MEASURED_SYMBOLS.items()}
    ram["stack"] = stack
    # generated/model_weights.c: every weight array is kws_model_op<N>_<what>.
    weights = sum(size for name, size in sizes.items() if name.startswith("kws_model_op"))
    return {"ram": ram, "flash": {"weights": weights, "code": flash_bytes - weights}}


def archive_members(map_file: Path) -> list[str]:
    """``archive.a(member.o)`` for each library member linked into the image.

    The link map (``-Wl,-Map``) lists every member pulled in under "Archive member
    included"; those whose sections ``--gc-sections`` then dropped entirely do not appear in
    its memory map and are left out (they add nothing to the image).
    """
    try:
        text = map_file.read_text()
    except OSError as exc:
        raise KwsError(f"{map_file}: cannot read the link map ({exc})") from None
    start = text.find("Archive member included")
    memory_map = text[text.find("Linker script and memory map"):]
    if start < 0:
        return []
    members = []
    for line in text[start:].splitlines()[1:]:
        if line and not line[0].isspace():
            found = re.match(r"(.*/(lib[^/]+\.a)\(([^)]+)\))", line)
            if not found:
                break
            if found.group(1) in memory_map:
                members.append(f"{found.group(2)}({found.group(3)})")
    return members
