"""Build and run ``firmware/tests/frontend_check.c``: the feature front ends on the board.

The program is linked with generated C holding baked frontend configs and int16 clips; it
streams every clip through every config (in odd-sized chunks) and prints every frame.
:func:`run_frontend_check` returns those frames as numpy arrays, ready to be compared with
the host C core (:func:`kws.features.micro_features`, :func:`kws.features.mfcc.mfcc_features`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kws.boards import DEFAULT_BOARD
from kws.errors import KwsError
from kws.features.micro import MicroFrontendConfig, tables_for
from kws.firmware_project import emit_c
from kws.firmware_project.layout import CORE_DIR, FIRMWARE_DIR
from kws.firmware_project.qemu import DEFAULT_MACHINE, QemuResult, run_qemu
from kws.firmware_project.toolchain import build_elf, core_sources

CHECK_DIR = FIRMWARE_DIR / "tests"
CHECK_SOURCE = CHECK_DIR / "frontend_check.c"
# Streaming chunk sizes, cycled: single samples, sizes straddling window and hop lengths.
DEFAULT_CHUNK_SIZES = (1, 160, 7, 320, 1000, 479, 2)


def mfcc_core_available() -> bool:
    """True when the MFCC C core and its Python tables exist in this checkout."""
    try:
        from kws.features import mfcc

        return hasattr(mfcc, "mfcc_tables") and (CORE_DIR / "mfcc" / "mfcc.h").is_file()
    except ImportError:
        return False


@dataclass
class FrontendCheckOutput:
    """Frames the board printed: ``micro[config][clip]`` uint16 ``[frames, channels]`` and
    ``mfcc[config][clip]`` float32 ``[frames, num_mfcc]``, plus SysTick counts per run."""

    micro: list[list[np.ndarray]] = field(default_factory=list)
    mfcc: list[list[np.ndarray]] = field(default_factory=list)
    micro_ticks: list[list[int]] = field(default_factory=list)
    mfcc_ticks: list[list[int]] = field(default_factory=list)


def _config_list(ctype: str, kind: str, count: int) -> str:
    """``check_<kind>_configs[]`` pointing at ``check_<kind>_0..count-1``, and its length."""
    names = ", ".join(f"&check_{kind}_{i}" for i in range(count))
    return (f"const {ctype}* const check_{kind}_configs[] = {{{names}}};\n"
            f"const int check_num_{kind}_configs = {count};\n")


def generate_check_source(
    micro_configs: Sequence[MicroFrontendConfig],
    mfcc_configs: Sequence[object],
    clips: Sequence[np.ndarray],
    chunk_sizes: Sequence[int] = DEFAULT_CHUNK_SIZES,
) -> tuple[str, dict[str, int]]:
    """C source with the baked configs and clips, and the capacity defines it needs."""
    if not micro_configs:
        raise KwsError("frontend check needs at least one micro frontend config")
    if not clips:
        raise KwsError("frontend check needs at least one clip")
    fragments: list[str] = []
    micro_tables = [tables_for(c) for c in micro_configs]
    for i, t in enumerate(micro_tables):
        fragments.append(emit_c.emit_micro_frontend_config(t, f"check_micro_{i}", static=True))
    fragments.append(_config_list("KwsMicroFrontendConfig", "micro", len(micro_tables)))
    capacity = emit_c.micro_frontend_capacity(micro_tables)
    includes = ["frontend_check.h"]
    if mfcc_configs:
        from kws.features.mfcc import mfcc_tables

        mtables = [mfcc_tables(c) for c in mfcc_configs]  # type: ignore[arg-type]
        for i, t in enumerate(mtables):
            fragments.append(emit_c.emit_mfcc_config(t, f"check_mfcc_{i}", static=True))
        fragments.append(_config_list("KwsMfccConfig", "mfcc", len(mtables)))
        capacity = emit_c.merge_capacity(capacity, emit_c.mfcc_capacity(mtables))
    for i, clip in enumerate(clips):
        x = np.asarray(clip)
        if x.ndim != 1 or x.dtype != np.int16 or x.size == 0:
            raise KwsError(f"clip {i}: expected non-empty 1-D int16 audio, got {x.dtype} {x.shape}")
        fragments.append(emit_c.emit_array(f"check_clip_{i}", x, "int16_t"))
    names = ", ".join(f"check_clip_{i}" for i in range(len(clips)))
    lengths = ", ".join(f"{len(c)}u" for c in clips)
    chunks = ", ".join(f"{int(c)}u" for c in chunk_sizes)
    fragments.append(
        f"const int16_t* const check_clips[] = {{{names}}};\n"
        f"const uint32_t check_clip_lengths[] = {{{lengths}}};\n"
        f"const int check_num_clips = {len(clips)};\n"
        f"const uint32_t check_chunk_sizes[] = {{{chunks}}};\n"
        f"const int check_num_chunk_sizes = {len(chunk_sizes)};\n"
    )
    text = emit_c.c_source(includes, fragments, "frontend_check data")
    return text, capacity


def build_frontend_check(
    out_dir: str | os.PathLike,
    micro_configs: Sequence[MicroFrontendConfig],
    mfcc_configs: Sequence[object],
    clips: Sequence[np.ndarray],
    *,
    float_abi: str = "hard",
    output: str = "semihosting",
    opt: str = "-O2",
    board: str = DEFAULT_BOARD,
) -> Path:
    """Generate the data file and build ``frontend_check.elf`` in ``out_dir``.

    ``output`` is ``"semihosting"`` or ``"uart"`` (where the frames are printed); ``board``
    an emulated board of :mod:`kws.boards`.
    """
    if output not in ("semihosting", "uart"):
        raise KwsError(f"output must be 'semihosting' or 'uart', not {output!r}")
    out = Path(out_dir)
    text, capacity = generate_check_source(micro_configs, mfcc_configs, clips)
    data = emit_c.write_c_file(out / "frontend_check_data.c", text)
    sources = [CHECK_SOURCE, data, *core_sources(["micro_frontend"])]
    defines: dict[str, object] = dict(capacity)
    defines["KWS_CHECK_MFCC"] = 1 if mfcc_configs else 0
    defines["KWS_CHECK_OUTPUT_UART"] = 1 if output == "uart" else 0
    if mfcc_configs:
        sources += core_sources(["mfcc"])
    return build_elf(
        sources,
        [CHECK_DIR],
        out / f"frontend_check_{float_abi}.elf",
        defines,
        float_abi=float_abi,
        opt=opt,
        board=board,
    )


def parse_frontend_check(text: str) -> FrontendCheckOutput:
    """Frames from the program's output (``B``/frame/``E`` blocks, then ``DONE``)."""
    result = FrontendCheckOutput()
    lines = text.splitlines()
    if not lines or lines[-1].strip() != "DONE":
        tail = "\n".join(lines[-5:])
        raise KwsError(f"frontend check output is incomplete (no DONE line); it ended:\n{tail}")
    i = 0
    while i < len(lines) - 1:
        head = lines[i].split()
        if len(head) != 4 or head[0] != "B" or head[1] not in ("micro", "mfcc"):
            raise KwsError(f"frontend check output line {i + 1}: unexpected {lines[i]!r}")
        kind, config, clip = head[1], int(head[2]), int(head[3])
        i += 1
        rows: list[str] = []
        while not lines[i].startswith("E "):
            rows.append(lines[i].strip())
            i += 1
        _, frames, ticks = lines[i].split()
        i += 1
        if int(frames) != len(rows):
            raise KwsError(f"{kind} config {config} clip {clip}: {frames} frames announced, "
                           f"{len(rows)} printed")
        digits = 4 if kind == "micro" else 8
        dtype = np.uint16 if kind == "micro" else np.uint32
        values = [[int(r[j : j + digits], 16) for j in range(0, len(r), digits)] for r in rows]
        arr = np.array(values, dtype=dtype) if rows else np.zeros((0, 0), dtype)
        if kind == "mfcc":
            arr = arr.view(np.float32)
        table = result.micro if kind == "micro" else result.mfcc
        ticks_table = result.micro_ticks if kind == "micro" else result.mfcc_ticks
        while len(table) <= config:
            table.append([])
            ticks_table.append([])
        if len(table[config]) != clip:
            raise KwsError(f"{kind} config {config}: clip {clip} out of order")
        table[config].append(arr)
        ticks_table[config].append(int(ticks))
    return result


def run_frontend_check(
    elf: str | os.PathLike,
    output: str = "semihosting",
    timeout: float = 120.0,
    icount: int | None = None,
    machine: str = DEFAULT_MACHINE,
) -> tuple[FrontendCheckOutput, QemuResult]:
    """Run a built check under QEMU ``machine`` and parse its frames (KwsError if it fails).

    With ``icount=0`` the tick counts in the result are instructions / 40.
    """
    result = run_qemu(elf, timeout=timeout, icount=icount, machine=machine)
    text = result.uart.decode("ascii", errors="replace") if output == "uart" else result.stdout
    if result.exit_code != 0:
        raise KwsError(
            f"{elf}: frontend check exited with status {result.exit_code}: "
            f"{(result.stdout + text)[-2000:]}"
        )
    return parse_frontend_check(text), result
