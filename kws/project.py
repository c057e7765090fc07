"""Generated firmware projects (``kws deploy``), their builds, emulated runs and benchmarks.

A project directory is self-contained: ``make`` builds it with arm-none-eabi-gcc alone::

    DIR/project.json      what was deployed (board, model hash, frontend, stride, sizes)
    DIR/Makefile          `make` -> build/firmware.elf/.bin, `make bench` -> build/bench.elf
    DIR/app/              copy of firmware/app (pipeline, protocol, main)
    DIR/core/             the needed parts of firmware/core (kernels, frontend or mfcc)
    DIR/board/            copy of firmware/boards/<board>
    DIR/generated/        model.{c,h}, model_weights.{c,h}, kws_app_config.h, frontend.c

The host-side twin of the firmware's feature quantization is :func:`quantize_features`
(the same float32 steps as ``firmware/app/feature_quantize.c``); :func:`host_scores`
reproduces, on the host, the SCORES the firmware sends for a clip.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kws import protocol
from kws.boards import Board, get_board
from kws.errors import KwsError
from kws.fileio import write_text_atomic

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE_DIR = ROOT / "firmware"
APP_DIR = FIRMWARE_DIR / "app"
CORE_DIR = FIRMWARE_DIR / "core"
PROJECT_FORMAT = "kws-project/1"
FRONTEND_KINDS = {"none": 0, "micro": 1, "mfcc": 2}
DEFAULT_STRIDE_FRAMES = 10
DEFAULT_AVERAGE_COUNT = 3
DEFAULT_THRESHOLD = 0.8
DEFAULT_SUPPRESS = 5
DEFAULT_BENCH_RUNS = 5
EMULATOR_ELF = "build/firmware-emu.elf"
_STRICT = "-std=c99 -Wall -Wextra -Werror -ffp-contract=off -ffunction-sections -fdata-sections"


# --- host twin of the firmware's quantization --------------------------------------------


def feature_scale(frontend: Any) -> float:
    """Raw feature -> model float input factor (micro: 10/256, MFCC: 1)."""
    from kws.features import MICRO_INPUT_SCALE, MicroFrontendConfig

    return MICRO_INPUT_SCALE if isinstance(frontend, MicroFrontendConfig) else 1.0


def quantize_features(features: np.ndarray, frontend: Any, scale: float, zero_point: int
                      ) -> np.ndarray:
    """int8 model input from raw frontend features, exactly as the firmware computes it.

    ``clamp(sign(q) * floor(|q| + 0.5) + zero_point)`` with ``q = (raw * feature_scale) /
    scale`` in float32: :func:`kws.features.to_model_input` then
    :func:`kws.export.quantize_inputs`, the path training evaluation uses, so host
    evaluation and the board agree bit for bit.
    """
    from kws.export import quantize_inputs
    from kws.features import to_model_input

    return quantize_inputs(to_model_input(np.asarray(features), frontend), scale, zero_point)


def inference_frames(num_frames: int, window_frames: int, stride_frames: int) -> list[int]:
    """Frame counts after which the firmware runs the model (window full, then every stride)."""
    if num_frames < window_frames:
        return []
    return list(range(window_frames, num_frames + 1, stride_frames))


def host_scores(audio: np.ndarray, project: dict[str, Any], model_path: str | Path,
                engine: str = "tflm") -> list[protocol.Scores]:
    """The SCORES the firmware reports for ``audio``, computed on the host.

    Host frontend (C core) -> :func:`quantize_features` -> windows every ``stride_frames``
    -> ``engine`` (``tflm`` or ``native``).
    """
    from kws.engines import run_model
    from kws.features import compute_features, frontend_from_dict

    frontend = frontend_from_dict(project["frontend"])
    q = quantize_features(compute_features(audio, frontend), frontend,
                          project["input_scale"], project["input_zero_point"])
    ends = inference_frames(len(q), project["frames"], project["stride_frames"])
    windows = [q[e - project["frames"] : e] for e in ends]
    outputs = run_model(engine, model_path, windows) if windows else []
    return [protocol.Scores(e, o.reshape(-1)) for e, o in zip(ends, outputs, strict=True)]


# --- deploy -----------------------------------------------------------------------------


def _hash32(data: bytes) -> int:
    return int.from_bytes(hashlib.sha256(data).digest()[:4], "little")


def frontend_hash(frontend: dict[str, Any] | None) -> int:
    """32-bit id of a frontend config dict (0 for none); INFO carries it."""
    if frontend is None:
        return 0
    return _hash32(json.dumps(frontend, sort_keys=True).encode())


def _model_meta(tflite: Path) -> dict[str, Any] | None:
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


def _threshold_q(threshold: float, scale: float, zero_point: int) -> int:
    return int(min(127, max(-128, math.ceil(threshold / scale) + zero_point)))


def _app_config_header(cfg: dict[str, Any]) -> str:
    from kws.firmware.emit_c import c_float

    kind = cfg["frontend_kind"]
    lines = [
        "/* Application configuration (generated by kws deploy; do not edit). */",
        "#ifndef KWS_APP_CONFIG_H_",
        "#define KWS_APP_CONFIG_H_",
        "",
        "#include <stdint.h>",
        "",
        '#include "kws_app.h"',
    ]
    if kind == "micro":
        lines.append('#include "frontend/micro_frontend.h"')
    elif kind == "mfcc":
        lines.append('#include "mfcc/mfcc.h"')
    labels = ", ".join(cfg["labels"])
    lines += [
        "",
        f"/* Labels: {labels} */".replace("*/", "* /", labels.count("*/")),
        f"#define KWS_APP_FRONTEND KWS_FRONTEND_{kind.upper()}",
        f"#define KWS_APP_FRAMES {cfg['frames']}",
        f"#define KWS_APP_CHANNELS {cfg['channels']}",
        f"#define KWS_APP_STRIDE_FRAMES {cfg['stride_frames']}",
        f"#define KWS_APP_AVERAGE_COUNT {cfg['average_count']}",
        f"#define KWS_APP_THRESHOLD_Q {cfg['threshold_q']}",
        f"#define KWS_APP_SUPPRESS_INFERENCES {cfg['suppress_inferences']}",
        f"#define KWS_APP_FEATURE_SCALE {c_float(cfg['feature_scale'])}",
        f"#define KWS_APP_INPUT_SCALE {c_float(cfg['input_scale'])}",
        f"#define KWS_APP_INPUT_ZERO_POINT {cfg['input_zero_point']}",
        f"#define KWS_APP_MODEL_ID 0x{cfg['model_id']:08x}u",
        f"#define KWS_APP_FRONTEND_HASH 0x{cfg['frontend_hash']:08x}u",
        f"#define KWS_APP_SAMPLE_RATE {cfg['sample_rate']}",
        f"#define KWS_APP_HAS_MIC {int(cfg['has_mic'])}",
        "",
    ]
    if kind == "micro":
        lines.append("extern const KwsMicroFrontendConfig kws_app_frontend;")
    elif kind == "mfcc":
        lines.append("extern const KwsMfccConfig kws_app_frontend;")
    if kind != "none":
        lines.append(f"extern const uint8_t kws_app_keyword_mask[{len(cfg['labels'])}];")
    lines += ["", "#endif /* KWS_APP_CONFIG_H_ */", ""]
    return "\n".join(lines)


def _makefile(board: Board, sources: list[str], defines: dict[str, Any],
              bench_runs: int) -> str:
    board_rel = [f"board/{s}" for s in board.sources]
    includes = ["generated", "app", "core"] + [
        "board" if d in (".", "") else f"board/{d}" for d in board.include_dirs
    ]
    define_flags = " ".join(f"-D{k}" if v is None else f"-D{k}={v}" for k, v in defines.items())
    board_defines = " ".join(board.define_flags())
    src = " \\\n  ".join(sources + board_rel)
    emu = _emulator_rules(board)
    return f"""# Firmware project generated by kws deploy for board {board.name}.
# Builds with the ARM GNU toolchain alone: `make` (firmware), `make bench`, `make size`.
CC ?= arm-none-eabi-gcc
ifeq ($(origin CC),default)
CC = arm-none-eabi-gcc
endif
OBJCOPY ?= arm-none-eabi-objcopy
SIZE ?= arm-none-eabi-size
OPT ?= -O2
BENCH_RUNS ?= {bench_runs}

CPUFLAGS = {" ".join(board.cflags())}
CFLAGS = $(CPUFLAGS) {_STRICT} $(OPT)
DEFINES = {define_flags} {board_defines}
INCLUDES = {" ".join(f"-I{i}" for i in includes)}
LDFLAGS = -Lboard -T board/{board.linker_script} -nostdlib -Wl,--gc-sections \\
  {" ".join(board.ldflags)}
LDLIBS = -lgcc

SOURCES = {src}
HEADERS = $(wildcard generated/*.h app/*.h board/*.h core/*.h core/*/*.h)

all: build/firmware.elf build/firmware.bin{emu[0]}

build:
\tmkdir -p build

build/firmware.elf: $(SOURCES) $(HEADERS) | build
\t$(CC) $(CFLAGS) $(DEFINES) $(INCLUDES) $(SOURCES) $(LDFLAGS) \\
\t  -Wl,-Map=build/firmware.map -o $@.tmp $(LDLIBS)
\tmv $@.tmp $@

build/firmware.bin: build/firmware.elf
\t$(OBJCOPY) -O binary $< $@

bench: build/bench.elf

build/bench.elf: $(SOURCES) $(HEADERS) | build
\t$(CC) $(CFLAGS) $(DEFINES) -DKWS_APP_BENCH=$(BENCH_RUNS) $(INCLUDES) $(SOURCES) \\
\t  $(LDFLAGS) -o $@.tmp $(LDLIBS)
\tmv $@.tmp $@

size: build/firmware.elf
\t$(SIZE) -A $<
{emu[1]}
clean:
\trm -rf build

.PHONY: all bench size clean
"""


def _emulator_rules(board: Board) -> tuple[str, str]:
    """(extra ``all`` target, its rule) for a real board's emulator-only image, if any."""
    script = board.emulator_linker_script
    if script is None:
        return "", ""
    return f" {EMULATOR_ELF}", f"""
# The same firmware linked for QEMU {board.qemu_machine} (`kws firmware run`): {script}.
{EMULATOR_ELF}: $(SOURCES) $(HEADERS) | build
\t$(CC) $(CFLAGS) $(DEFINES) {" ".join(board.emulator_define_flags())} $(INCLUDES) \\
\t  $(SOURCES) -Lboard -T board/{script} -nostdlib -Wl,--gc-sections -o $@.tmp $(LDLIBS)
\tmv $@.tmp $@
"""


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


def deploy(
    model_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    board_name: str = "qemu-mps2-an386",
    *,
    stride_frames: int = DEFAULT_STRIDE_FRAMES,
    frontend: str | None = None,
    average_count: int = DEFAULT_AVERAGE_COUNT,
    threshold: float = DEFAULT_THRESHOLD,
    suppress_inferences: int = DEFAULT_SUPPRESS,
    bench_runs: int = DEFAULT_BENCH_RUNS,
) -> dict[str, Any]:
    """Generate a self-contained firmware project for ``model_path`` in ``out_dir``.

    Parameters
    ----------
    model_path
        int8 ``.tflite``; a ``model.json`` beside it (``kws export``) supplies labels and the
        frontend config.
    out_dir
        Project directory; replaced as a whole (written into a temporary sibling first).
    board_name
        A board under ``firmware/boards`` with a ``board.json``.
    stride_frames
        Feature frames between inferences once the window is full.
    frontend
        ``"micro"``, ``"mfcc"`` or ``"none"`` (model-only firmware: TENSOR frames); the
        default is model.json's frontend, or ``"none"`` without model.json.
    average_count, threshold, suppress_inferences
        Detection: average of the last ``average_count`` score vectors >= ``threshold``
        (probability), at most one detection per ``suppress_inferences`` inferences.
    bench_runs
        Model invocations timed by ``make bench``.

    Returns
    -------
    dict
        The contents of ``project.json``.
    """
    from kws.deploy import compile_model
    from kws.features import frontend_from_dict, num_channels
    from kws.firmware import emit_c

    tflite = Path(model_path)
    if not tflite.is_file():
        raise KwsError(f"{tflite}: model file not found")
    if stride_frames < 1:
        raise KwsError(f"--stride-frames must be at least 1, not {stride_frames}")
    if average_count < 1:
        raise KwsError(f"average count must be at least 1, not {average_count}")
    if not 0.0 < threshold <= 1.0:
        raise KwsError(f"threshold must be a probability in (0, 1], not {threshold}")
    board = get_board(board_name)
    if board.build != "bare-metal":
        raise KwsError(f"{board.name} is built by the Arduino IDE: export an Arduino library "
                       f"with `kws deploy --board {board.name}` (kws.arduino)")
    meta = _model_meta(tflite)
    kind = frontend or (meta["frontend"]["type"] if meta and "frontend" in meta else "none")
    if kind not in FRONTEND_KINDS:
        raise KwsError(f"frontend must be one of {', '.join(FRONTEND_KINDS)}, not {kind!r}")
    if kind == "none" and board.has_mic:
        # A mic board's firmware only listens to its microphone; a model-only build there
        # would never run the model.
        raise KwsError(f"{tflite}: {board.name} takes audio from its microphone, so it needs "
                       "a frontend: export the model with kws export (model.json) or pass "
                       "--frontend micro|mfcc")

    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        generated = staging / "generated"
        compiled = compile_model(tflite, generated, "model")
        shape = list(compiled.input_shape)
        fe_dict = _frontend_for(kind, meta, shape)
        labels = list(meta["labels"]) if meta and "labels" in meta else [
            f"class_{i}" for i in range(compiled.num_labels)]
        if len(labels) != compiled.num_labels:
            raise KwsError(f"{tflite}: model.json lists {len(labels)} labels, the model has "
                           f"{compiled.num_labels} outputs")
        frames = channels = 0
        sample_rate = 16000
        defines: dict[str, Any] = {}
        core_parts = ["kernels"]
        fe_source = ""
        if fe_dict is not None:
            fe = frontend_from_dict(fe_dict)
            channels = num_channels(fe)
            sample_rate = fe.sample_rate
            if sample_rate != 16000:
                raise KwsError(f"{tflite}: the firmware streams 16 kHz audio, the frontend "
                               f"wants {sample_rate} Hz")
            if compiled.input_size % channels:
                raise KwsError(f"{tflite}: input of {compiled.input_size} values is not a "
                               f"whole number of {channels}-channel frames")
            frames = compiled.input_size // channels
            if kind == "micro":
                from kws.features.micro import tables_for

                tables = tables_for(fe)  # type: ignore[arg-type]
                fe_source = emit_c.emit_micro_frontend_config(tables, "kws_app_frontend")
                defines.update(emit_c.micro_frontend_capacity([tables]))
                includes = emit_c.MICRO_FRONTEND_INCLUDES
                core_parts.append("frontend")
            else:
                from kws.features.mfcc import mfcc_tables

                mtables = mfcc_tables(fe)  # type: ignore[arg-type]
                fe_source = emit_c.emit_mfcc_config(mtables, "kws_app_frontend")
                defines.update(emit_c.mfcc_capacity([mtables]))
                includes = emit_c.MFCC_INCLUDES
                core_parts.append("mfcc")
            mask = np.array([0 if lab.startswith("_") else 1 for lab in labels], np.uint8)
            if not mask.any():
                mask[:] = 1
            fe_source += "\n" + emit_c.emit_array("kws_app_keyword_mask", mask, "uint8_t",
                                                  static=False)
            emit_c.write_c_file(generated / "frontend.c", emit_c.c_source(
                [*includes, "kws_app_config.h"], [fe_source], "frontend tables and keyword mask"))
        max_payload = max(2 * protocol.AUDIO_CHUNK_SAMPLES, compiled.input_size)
        defines["KWS_PROTOCOL_MAX_PAYLOAD"] = f"{max_payload}u"
        model_bytes = tflite.read_bytes()
        cfg: dict[str, Any] = {
            "format": PROJECT_FORMAT,
            "board": board.name,
            "qemu_machine": board.qemu_machine,
            "qemu_serial": board.qemu_serial_index,
            "model_file": tflite.name,
            "model_sha256": hashlib.sha256(model_bytes).hexdigest(),
            "model_id": _hash32(model_bytes),
            "tflite_bytes": len(model_bytes),
            "frontend_kind": kind,
            "frontend": fe_dict,
            "frontend_hash": frontend_hash(fe_dict),
            "feature_scale": feature_scale(frontend_from_dict(fe_dict)) if fe_dict else 1.0,
            "labels": labels,
            "frames": frames,
            "channels": channels,
            "sample_rate": sample_rate,
            "stride_frames": int(stride_frames),
            "average_count": int(average_count),
            "threshold": float(threshold),
            "threshold_q": _threshold_q(threshold, compiled.output_scale,
                                        compiled.output_zero_point),
            "suppress_inferences": int(suppress_inferences),
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
        write_text_atomic(generated / "kws_app_config.h", _app_config_header(cfg))
        (generated / "model.json").unlink(missing_ok=True)
        shutil.copytree(APP_DIR, staging / "app",
                        ignore=shutil.ignore_patterns("*.o", "__pycache__"))
        shutil.copytree(board.directory, staging / "board",
                        ignore=shutil.ignore_patterns("*.o", "__pycache__"))
        (staging / "core").mkdir()
        for header in sorted(CORE_DIR.glob("*.h")):
            shutil.copy2(header, staging / "core" / header.name)
        for part in core_parts:
            shutil.copytree(CORE_DIR / part, staging / "core" / part,
                            ignore=shutil.ignore_patterns("*.cdef", "*.o"))
        sources = sorted(str(p.relative_to(staging)) for p in staging.glob("app/*.c"))
        sources += sorted(str(p.relative_to(staging)) for p in generated.glob("*.c"))
        for part in core_parts:
            sources += sorted(str(p.relative_to(staging))
                              for p in (staging / "core" / part).rglob("*.c"))
        write_text_atomic(staging / "Makefile", _makefile(board, sources, defines, bench_runs))
        write_text_atomic(staging / "project.json", json.dumps(cfg, indent=2) + "\n")
        if out.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, trash / "old")
            shutil.rmtree(trash, ignore_errors=True)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return cfg


def load_project(project_dir: str | os.PathLike) -> dict[str, Any]:
    """``project.json`` of a generated project (KwsError when it is not one)."""
    path = Path(project_dir) / "project.json"
    try:
        cfg = json.loads(path.read_text())
    except FileNotFoundError:
        raise KwsError(f"{project_dir}: not a kws firmware project (no project.json; "
                       "create one with `kws deploy`)") from None
    except (OSError, ValueError) as exc:
        raise KwsError(f"{path}: unreadable project description ({exc})") from exc
    if not isinstance(cfg, dict) or cfg.get("format") != PROJECT_FORMAT:
        raise KwsError(f"{path}: not a {PROJECT_FORMAT} project description")
    return cfg


# --- build, size, run, bench --------------------------------------------------------------


def _make(project_dir: Path, target: str, extra: list[str] | None = None) -> None:
    from kws.firmware.toolchain import find_tool

    find_tool("arm-none-eabi-gcc")
    make = shutil.which("make")
    if make is None:
        raise KwsError("make not found on PATH: install it with `sudo apt-get install make`")
    proc = subprocess.run([make, "-C", str(project_dir), target, *(extra or [])],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        text = (proc.stderr or proc.stdout).strip()
        overflow = re.search(r"region `(\w+)' overflowed by (\d+) bytes", text)
        if overflow:
            raise KwsError(f"{project_dir}: the firmware does not fit the board: "
                           f"{overflow.group(1)} overflowed by {overflow.group(2)} bytes")
        raise KwsError(f"{project_dir}: `make {target}` failed:\n{text[-4000:]}")


@dataclass(frozen=True)
class BuildReport:
    """Sizes of a built firmware (bytes)."""

    elf: Path
    text: int
    data: int
    bss: int
    stack: int
    arena_bytes: int
    sections: dict[str, int]

    @property
    def flash_bytes(self) -> int:
        return self.text + self.data

    @property
    def ram_bytes(self) -> int:
        return self.data + self.bss

    def to_json(self) -> dict[str, int]:
        return {"flash_bytes": self.flash_bytes, "ram_bytes": self.ram_bytes,
                "arena_bytes": self.arena_bytes, "text": self.text, "data": self.data,
                "bss": self.bss}


def _sections(elf: Path) -> dict[str, int]:
    from kws.firmware.toolchain import find_tool

    proc = subprocess.run([find_tool("arm-none-eabi-size"), "-A", str(elf)],
                          capture_output=True, text=True)
    out: dict[str, int] = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].startswith(".") and parts[1].isdigit():
            if int(parts[2]) != 0 or parts[0] in (".text", ".data", ".bss", ".stack"):
                out[parts[0]] = int(parts[1])
    return out


def build_project(project_dir: str | os.PathLike, target: str = "all") -> BuildReport:
    """``make`` a generated project and measure its ELF (``target``: ``all`` or ``bench``)."""
    from kws.firmware.toolchain import size_of

    pdir = Path(project_dir)
    cfg = load_project(pdir)
    _make(pdir, target)
    elf = pdir / (cfg["bench_elf"] if target == "bench" else cfg["elf"])
    size = size_of(elf)
    return BuildReport(elf, size.text, size.data, size.bss, size.stack, int(cfg["arena_bytes"]),
                       _sections(elf))


def _run_elf(cfg: dict[str, Any], elf: Path, uart_input: bytes, timeout: float,
             icount: int | None = None) -> list[protocol.Frame]:
    from kws.firmware.qemu import run_qemu

    machine = cfg.get("qemu_machine")
    if not machine:
        raise KwsError(f"board {cfg['board']} is not emulated: flash it with `kws flash` and "
                       "talk to it over its serial port")
    result = run_qemu(elf, timeout=timeout, uart_input=uart_input, icount=icount,
                      machine=machine, serial_index=int(cfg.get("qemu_serial", 0)),
                      input_after_output=True)
    parser = protocol.FrameParser()
    frames = parser.feed(result.uart)
    errors = [protocol.decode_error(f.payload) for f in frames if f.type == protocol.ERROR]
    if errors:
        raise KwsError(f"{elf}: firmware reported {errors[0][1]!r} (code {errors[0][0]})")
    if result.exit_code != 0:
        raise KwsError(f"{elf}: firmware exited with status {result.exit_code}: "
                       f"{result.stdout[-1000:]}")
    if parser.dropped:
        raise KwsError(f"{elf}: {parser.dropped} corrupt frames from the firmware")
    return frames


@dataclass
class RunResult:
    """What the firmware sent for one clip."""

    info: protocol.Info
    scores: list[protocol.Scores]
    detections: list[protocol.Detection]
    features: list[protocol.Features]


def run_project(project_dir: str | os.PathLike, audio: np.ndarray, *, features: bool = False,
                chunk: int = protocol.AUDIO_CHUNK_SAMPLES, timeout: float | None = None
                ) -> RunResult:
    """Stream int16 ``audio`` to the built firmware under QEMU over its UART; collect results."""
    pdir = Path(project_dir)
    cfg = load_project(pdir)
    if cfg["frontend_kind"] == "none":
        raise KwsError(f"{pdir}: a model-only project has no frontend to stream audio into "
                       "(deploy the model with its model.json or --frontend micro|mfcc)")
    elf = pdir / cfg.get("emulator_elf", cfg["elf"])
    if not elf.is_file():
        raise KwsError(f"{elf}: not built yet (run `kws firmware build {pdir}`)")
    x = np.asarray(audio)
    if x.dtype != np.int16 or x.ndim != 1 or x.size == 0:
        raise KwsError(f"audio must be non-empty 1-D int16, not {x.dtype} {list(x.shape)}")
    flags = protocol.OPTION_SEND_SCORES | (protocol.OPTION_SEND_FEATURES if features else 0)
    stream = protocol.encode_frame(protocol.SET_OPTIONS, bytes([flags]), 0)
    stream += b"".join(protocol.audio_frames(x, chunk, seq=1))
    stream += protocol.encode_frame(protocol.STOP, b"", 0)
    if timeout is None:
        timeout = 60.0 + 20.0 * len(x) / 16000.0
    frames = _run_elf(cfg, elf, stream, timeout)
    infos = [protocol.decode_info(f.payload) for f in frames if f.type == protocol.INFO]
    if not infos:
        raise KwsError(f"{elf}: firmware sent no INFO frame")
    _check_info(infos[0], cfg, elf)
    return RunResult(
        info=infos[0],
        scores=[protocol.decode_scores(f.payload) for f in frames if f.type == protocol.SCORES],
        detections=[protocol.decode_detection(f.payload) for f in frames
                    if f.type == protocol.DETECTION],
        features=[protocol.decode_features(f.payload) for f in frames
                  if f.type == protocol.FEATURES],
    )


def _check_info(info: protocol.Info, cfg: dict[str, Any], elf: Path) -> None:
    if info.model_id != cfg["model_id"] or info.frontend_hash != cfg["frontend_hash"]:
        raise KwsError(f"{elf}: the firmware holds another model/frontend than project.json "
                       "(rebuild it)")


def run_tensors(project_dir: str | os.PathLike, inputs: list[np.ndarray],
                timeout: float | None = None) -> list[np.ndarray]:
    """Model outputs for int8 inputs sent as TENSOR frames to the firmware under QEMU."""
    pdir = Path(project_dir)
    cfg = load_project(pdir)
    elf = pdir / cfg.get("emulator_elf", cfg["elf"])
    size = int(np.prod(cfg["input_shape"]))
    parts = []
    for i, x in enumerate(inputs):
        a = np.asarray(x)
        if a.dtype != np.int8 or a.size != size:
            raise KwsError(f"input {i}: expected {size} int8 values, got {a.size} {a.dtype}")
        parts.append(protocol.encode_frame(protocol.TENSOR, protocol.tensor_payload(a), i))
    parts.append(protocol.encode_frame(protocol.STOP, b"", len(inputs)))
    if timeout is None:
        timeout = 60.0 + 0.02 * len(inputs) * (1 + cfg["macs"] / 1e6)
    frames = _run_elf(cfg, elf, b"".join(parts), timeout)
    outputs = [np.frombuffer(f.payload, dtype=np.int8).reshape(cfg["output_shape"]).copy()
               for f in frames if f.type == protocol.OUTPUT]
    if len(outputs) != len(inputs):
        raise KwsError(f"{elf}: {len(outputs)} outputs for {len(inputs)} inputs")
    return outputs


def bench_project(project_dir: str | os.PathLike, timeout: float = 300.0) -> dict[str, Any]:
    """Instructions per inference and per MAC: ``make bench``, run under ``qemu -icount``."""
    pdir = Path(project_dir)
    cfg = load_project(pdir)
    if cfg.get("emulator_elf", cfg["elf"]) != cfg["elf"]:
        raise KwsError(f"board {cfg['board']} does not count instructions under QEMU: "
                       "benchmark the model on qemu-mps2-an386")
    build_project(pdir, "bench")
    frames = _run_elf(cfg, pdir / cfg["bench_elf"], b"", timeout, icount=0)
    bench = [protocol.decode_bench(f.payload) for f in frames if f.type == protocol.BENCH]
    if not bench:
        raise KwsError(f"{pdir}: the bench firmware sent no BENCH frame")
    b = bench[0]
    if b.instructions_per_tick == 0:
        raise KwsError(f"board {cfg['board']} does not count instructions")
    per_inference = b.ticks * b.instructions_per_tick / b.invocations
    return {
        "instructions_per_inference": int(round(per_inference)),
        "macs": int(b.macs),
        "instructions_per_mac": round(per_inference / b.macs, 4) if b.macs else None,
        "invocations": int(b.invocations),
        "ticks": int(b.ticks),
    }


# --- the "qemu" engine ------------------------------------------------------------------


def _engine_key(model_path: Path, board: str) -> str:
    digest = hashlib.sha256(model_path.read_bytes())
    digest.update(board.encode())
    # Everything that shapes the firmware: app, kernels, board and the model compiler.
    roots = (APP_DIR, CORE_DIR / "kernels", FIRMWARE_DIR / "boards" / board,
             ROOT / "kws" / "deploy")
    for root in roots:
        for p in sorted(root.rglob("*")):
            if p.is_file() and p.suffix in (".c", ".h", ".ld", ".json", ".py"):
                digest.update(p.name.encode() + b"\0" + p.read_bytes())
    return digest.hexdigest()[:24]


def engine_project(model_path: str | os.PathLike, board: str = "qemu-mps2-an386") -> Path:
    """A built model-only project for ``model_path``, cached beside the native engine's."""
    from kws.deploy.native import cache_root

    path = Path(model_path)
    root = cache_root().parent / "qemu"
    pdir = root / _engine_key(path, board)
    if not (pdir / "build" / "firmware.elf").is_file():
        deploy(path, pdir, board, frontend="none")
        build_project(pdir)
    return pdir


def run_qemu_engine(model_path: Path, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Engine ``qemu``: the compiled model in firmware on QEMU's Cortex-M4 (M4 DSP path)."""
    if not inputs:
        return []
    pdir = engine_project(model_path)
    out: list[np.ndarray] = []
    # Batches keep each emulator run short and its timeout meaningful.
    for start in range(0, len(inputs), 500):
        out.extend(run_tensors(pdir, inputs[start : start + 500]))
    return out
