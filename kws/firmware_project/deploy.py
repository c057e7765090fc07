"""``kws deploy``: one model + one board -> a self-contained firmware project.

Every board gets the same application (``firmware/app``: frontend -> quantization ->
window -> model -> averaged detection) configured by a generated ``kws_app_config.h``.
A ``"package": "make"`` board (the default) gets a project that ``make`` builds with
arm-none-eabi-gcc alone (layout in :mod:`kws.firmware_project.layout`); an
``"arduino-library"`` board gets the same sources laid out as an Arduino library
(:mod:`kws.firmware_project.arduino`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from kws import protocol
from kws.boards import DEFAULT_BOARD, Board, get_board
from kws.detector import DetectorSettings
from kws.errors import KwsError
from kws.features.quantize import feature_scale
from kws.fileio import check_output_dir, write_text_atomic
from kws.firmware_project.layout import APP_DIR, CORE_DIR, EMULATOR_ELF, PROJECT_FORMAT
from kws.firmware_project.memory import check_plan, memory_plan
from kws.firmware_project.templates import app_config_header, makefile

FRONTEND_KINDS = {"none": 0, "micro": 1, "mfcc": 2}
# The firmware/core folder each frontend's C lives in.
FRONTEND_CORE_PARTS = {"micro": "micro_frontend", "mfcc": "mfcc"}
DEFAULT_BENCH_RUNS = 5
SAMPLE_RATE = 16000
_COPY_IGNORE = shutil.ignore_patterns("*.o", "*.cdef", "__pycache__")
T = TypeVar("T")


def _hash32(data: bytes) -> int:
    return int.from_bytes(hashlib.sha256(data).digest()[:4], "little")


def frontend_hash(frontend: dict[str, Any] | None) -> int:
    """32-bit id of a frontend config dict (0 for none); INFO carries it."""
    if frontend is None:
        return 0
    return _hash32(json.dumps(frontend, sort_keys=True).encode())


def model_meta(tflite: Path) -> dict[str, Any] | None:
    """``model.json`` beside the model, when it describes this file."""
    meta_path = tflite.with_name("model.json")
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as exc:
        raise KwsError(f"{meta_path}: unreadable model description ({exc})") from exc
    if meta.get("model_file", tflite.name) != tflite.name:
        return None
    return meta


def _frontend_kind(tflite: Path, board: Board, meta: dict[str, Any] | None,
                   frontend: str | None) -> str:
    kind = frontend or (meta["frontend"]["type"] if meta and "frontend" in meta else "none")
    if kind not in FRONTEND_KINDS:
        raise KwsError(f"frontend must be one of {', '.join(FRONTEND_KINDS)}, not {kind!r}")
    if kind == "none" and board.has_mic:
        # A mic board's firmware only listens to its microphone; a model-only build there
        # would never run the model.
        raise KwsError(f"{tflite}: {board.name} takes audio from its microphone, so it needs "
                       "a frontend: export the model with kws export (model.json) or pass "
                       "--frontend micro|mfcc")
    return kind


def _frontend_for(kind: str, meta: dict[str, Any] | None, shape: list[int]
                  ) -> dict[str, Any] | None:
    from kws.features import frontend_config

    if kind == "none":
        return None
    if meta is not None and meta.get("frontend", {}).get("type") == kind:
        return dict(meta["frontend"])
    # No model.json: the frontend's defaults, sized to the model input's channel count.
    channels = shape[2] if len(shape) == 4 else None
    params: dict[str, Any] = {}
    if channels:
        params["num_channels" if kind == "micro" else "num_mfcc"] = int(channels)
    return frontend_config(kind, **params).to_dict()


def _frontend_source(kind: str, frontend: Any, labels: list[str]) -> tuple[str, dict[str, Any]]:
    """``generated/frontend.c`` (baked frontend config + keyword mask) and its capacity macros."""
    from kws.firmware_project import emit_c

    if kind == "micro":
        from kws.features.micro import tables_for

        tables = tables_for(frontend)
        source = emit_c.emit_micro_frontend_config(tables, "kws_app_frontend")
        defines = emit_c.micro_frontend_capacity([tables])
        includes = emit_c.MICRO_FRONTEND_INCLUDES
    else:
        from kws.features.mfcc import mfcc_tables

        mtables = mfcc_tables(frontend)
        source = emit_c.emit_mfcc_config(mtables, "kws_app_frontend")
        defines = emit_c.mfcc_capacity([mtables])
        includes = emit_c.MFCC_INCLUDES
    mask = np.array([0 if lab.startswith("_") else 1 for lab in labels], np.uint8)
    if not mask.any():
        mask[:] = 1
    source += "\n" + emit_c.emit_array("kws_app_keyword_mask", mask, "uint8_t", static=False)
    text = emit_c.c_source([*includes, "kws_app_config.h"], [source],
                           "frontend tables and keyword mask")
    return text, dict(defines)


def _quantize_table_source(fe: Any, compiled: Any) -> str:
    """``kws_app_quantize_thresholds``: the micro frontend's integer quantization table."""
    from kws.firmware_project import emit_c
    from kws.firmware_project.quantize_table import micro_quantize_thresholds

    table = micro_quantize_thresholds(feature_scale(fe), compiled.input_scale,
                                      compiled.input_zero_point)
    return "\n" + emit_c.emit_array("kws_app_quantize_thresholds", table, "uint32_t",
                                     static=False)


def _frontend_window(tflite: Path, fe_dict: dict[str, Any] | None, input_size: int
                     ) -> tuple[Any, int, int]:
    """(frontend config or None, frames, channels) of the model's input window."""
    from kws.features import frontend_from_dict, num_channels

    if fe_dict is None:
        return None, 0, 0
    fe = frontend_from_dict(fe_dict)
    channels = num_channels(fe)
    if fe.sample_rate != SAMPLE_RATE:
        raise KwsError(f"{tflite}: the firmware streams 16 kHz audio, the frontend "
                       f"wants {fe.sample_rate} Hz")
    if input_size % channels:
        raise KwsError(f"{tflite}: input of {input_size} values is not a "
                       f"whole number of {channels}-channel frames")
    return fe, input_size // channels, channels


def _labels(tflite: Path, meta: dict[str, Any] | None, num_labels: int) -> list[str]:
    labels = list(meta["labels"]) if meta and "labels" in meta else [
        f"class_{i}" for i in range(num_labels)]
    if len(labels) != num_labels:
        raise KwsError(f"{tflite}: model.json lists {len(labels)} labels, the model has "
                       f"{num_labels} outputs")
    return labels


def _generate(tflite: Path, board: Board, kind: str, meta: dict[str, Any] | None,
              settings: DetectorSettings, generated: Path) -> dict[str, Any]:
    """Compile the model and write every generated file into ``generated``; the project
    description (``project.json``) comes back."""
    from kws.deploy import compile_model

    compiled = compile_model(tflite, generated, "model")
    (generated / "model.json").unlink(missing_ok=True)
    shape = list(compiled.input_shape)
    fe_dict = _frontend_for(kind, meta, shape)
    labels = _labels(tflite, meta, compiled.num_labels)
    fe, frames, channels = _frontend_window(tflite, fe_dict, compiled.input_size)
    defines: dict[str, Any] = {}
    if fe is not None:
        source, defines = _frontend_source(kind, fe, labels)
        if kind == "micro":
            source += _quantize_table_source(fe, compiled)
        write_text_atomic(generated / "frontend.c", source)
    max_payload = max(2 * protocol.AUDIO_CHUNK_SAMPLES, compiled.input_size)
    defines["KWS_PROTOCOL_MAX_PAYLOAD"] = f"{max_payload}u"
    model_bytes = tflite.read_bytes()
    cfg: dict[str, Any] = {
        "format": PROJECT_FORMAT,
        "board": board.name,
        "package": board.package,
        "qemu_machine": board.qemu_machine,
        "qemu_serial": board.qemu_serial_index,
        "model_file": tflite.name,
        "model_sha256": hashlib.sha256(model_bytes).hexdigest(),
        "model_id": _hash32(model_bytes),
        "tflite_bytes": len(model_bytes),
        "frontend_kind": kind,
        "frontend": fe_dict,
        "frontend_hash": frontend_hash(fe_dict),
        "feature_scale": feature_scale(fe) if fe is not None else 1.0,
        "labels": labels,
        "frames": frames,
        "channels": channels,
        "sample_rate": fe.sample_rate if fe is not None else SAMPLE_RATE,
        "stride_frames": int(settings.stride_frames),
        "average_count": int(settings.average_count),
        "threshold": float(settings.threshold),
        "threshold_q": settings.threshold_q(compiled.output_scale, compiled.output_zero_point),
        "suppress_inferences": int(settings.suppress_inferences),
        "has_mic": board.has_mic,
        "input_shape": shape,
        "input_scale": compiled.input_scale,
        "input_zero_point": compiled.input_zero_point,
        "output_shape": list(compiled.output_shape),
        "output_scale": compiled.output_scale,
        "output_zero_point": compiled.output_zero_point,
        "arena_bytes": compiled.arena_bytes,
        "macs": compiled.macs,
        "weight_bytes": compiled.weight_bytes,
        "max_payload": max_payload,
        "defines": defines,
        "elf": "build/firmware.elf",
        "emulator_elf": EMULATOR_ELF if board.emulator_linker_script else "build/firmware.elf",
        "bench_elf": "build/bench.elf",
    }
    # Memory checked before anything is built: a model that cannot fit is refused here
    # with the numbers, not by the linker's "region overflowed" later.
    cfg["memory_plan"] = memory_plan(board, cfg)
    check_plan(tflite, cfg["memory_plan"], board)
    write_text_atomic(generated / "kws_app_config.h", app_config_header(cfg))
    return cfg


def core_parts(cfg: dict[str, Any]) -> list[str]:
    """The ``firmware/core`` folders a project needs: the kernels and its frontend's."""
    kind = cfg["frontend_kind"]
    return ["kernels"] + ([FRONTEND_CORE_PARTS[kind]] if kind in FRONTEND_CORE_PARTS else [])


def copy_core(cfg: dict[str, Any], dest: Path) -> None:
    """``firmware/core``'s top-level headers and the folders :func:`core_parts` names."""
    dest.mkdir(parents=True, exist_ok=True)
    for header in sorted(CORE_DIR.glob("*.h")):
        shutil.copy2(header, dest / header.name)
    for part in core_parts(cfg):
        shutil.copytree(CORE_DIR / part, dest / part, ignore=_COPY_IGNORE)


def _package_make(staging: Path, board: Board, cfg: dict[str, Any], bench_runs: int) -> None:
    """The ``make`` layout: app/, board/, core/ beside generated/, and the Makefile."""
    shutil.copytree(APP_DIR, staging / "app", ignore=_COPY_IGNORE)
    shutil.copytree(board.directory, staging / "board", ignore=_COPY_IGNORE)
    for part in board.common_paths():
        shutil.copytree(part, staging / "board" / "common" / part.name, ignore=_COPY_IGNORE)
    copy_core(cfg, staging / "core")
    sources = sorted(str(p.relative_to(staging)) for p in staging.glob("app/*.c"))
    sources += sorted(str(p.relative_to(staging)) for p in staging.glob("generated/*.c"))
    for part in core_parts(cfg):
        sources += sorted(str(p.relative_to(staging))
                          for p in (staging / "core" / part).rglob("*.c"))
    write_text_atomic(staging / "Makefile", makefile(board, sources, cfg["defines"], bench_runs))


def replace_dir(out: Path, fill: Callable[[Path], T]) -> T:
    """Write a directory whole: ``fill`` a temporary sibling, then swap it in for ``out``.

    Nothing is left behind when ``fill`` raises; an existing ``out`` is replaced.  Returns
    what ``fill`` returns.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        result = fill(staging)
        if out.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, trash / "old")
            shutil.rmtree(trash, ignore_errors=True)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result


def deploy(
    model_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    board_name: str = DEFAULT_BOARD,
    *,
    stride_frames: int | None = None,
    frontend: str | None = None,
    average_count: int | None = None,
    threshold: float | None = None,
    suppress_inferences: int | None = None,
    bench_runs: int = DEFAULT_BENCH_RUNS,
    force: bool = False,
) -> dict[str, Any]:
    """Generate a self-contained firmware project for ``model_path`` in ``out_dir``.

    Parameters
    ----------
    model_path
        int8 ``.tflite``; a ``model.json`` beside it (``kws export``) supplies labels and the
        frontend config.
    out_dir
        Project directory; replaced as a whole (written into a temporary sibling first)
        when it is empty or an earlier project (``project.json``), refused otherwise.
        For an Arduino board its name is the library's name.
    board_name
        A board under ``firmware/boards`` with a ``board.json``.
    stride_frames
        Feature frames between inferences once the window is full (default: model.json's,
        else :data:`kws.features.quantize.DEFAULT_STRIDE_FRAMES`).
    frontend
        ``"micro"``, ``"mfcc"`` or ``"none"`` (model-only firmware: TENSOR frames); the
        default is model.json's frontend, or ``"none"`` without model.json.
    average_count, threshold, suppress_inferences
        Detection: average of the last ``average_count`` score vectors >= ``threshold``
        (probability), at most one detection per ``suppress_inferences`` inferences.
        None: model.json's ``detector`` section, else :mod:`kws.detector`'s defaults.
    bench_runs
        Model invocations timed by ``make bench``.
    force
        Replace ``out_dir`` whatever it holds.

    Returns
    -------
    dict
        The contents of ``project.json``.
    """
    from kws.firmware_project import arduino

    tflite = Path(model_path)
    if not tflite.is_file():
        raise KwsError(f"{tflite}: model file not found")
    if bench_runs < 1:
        raise KwsError(f"bench runs must be at least 1, not {bench_runs}")
    board = get_board(board_name)
    out = check_output_dir(out_dir, "project.json", force=force,
                           what="project directory")
    if board.package == "arduino-library":
        arduino.check_library_name(out.name)
    meta = model_meta(tflite)
    settings = DetectorSettings.from_meta(
        meta, stride_frames=stride_frames, average_count=average_count, threshold=threshold,
        suppress_inferences=suppress_inferences)
    kind = _frontend_kind(tflite, board, meta, frontend)

    def fill(staging: Path) -> dict[str, Any]:
        cfg = _generate(tflite, board, kind, meta, settings, staging / "generated")
        if board.package == "arduino-library":
            cfg.update(elf=None, emulator_elf=None, bench_elf=None)
            arduino.package_library(staging, out.name, board, cfg)
        else:
            _package_make(staging, board, cfg, bench_runs)
        write_text_atomic(staging / "project.json", json.dumps(cfg, indent=2) + "\n")
        return cfg

    return replace_dir(out, fill)
