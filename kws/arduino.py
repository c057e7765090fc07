"""Export a model as an Arduino library for the Nano 33 BLE (Sense).

:func:`export_arduino_library` writes ``library.properties``, ``src/`` (kws's C core, the
model compiled ahead of time, generated settings and the streaming pipeline of
``firmware/boards/nano33ble/src``) and ``examples/kws_micro_speech/`` (a sketch using the
Arduino PDM library).  The sketch needs the Arduino IDE or arduino-cli to build; everything
under ``src/`` is portable C99 that arm-none-eabi-gcc compiles as it is.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from kws.errors import KwsError

ROOT = Path(__file__).resolve().parent.parent
CORE_DIR = ROOT / "firmware" / "core"
TEMPLATE_DIR = ROOT / "firmware" / "boards" / "nano33ble"
CORE_PARTS = ("micro_frontend", "kernels")
CORE_HEADERS = ("kws_bits.h", "kws_frame_buffer.h")
DEFAULT_NAME = "KwsMicroSpeech"
HEADER_NAME = "kws_micro_speech.h"
# TFLM micro_speech's classes, for models without a model.json.
MICRO_SPEECH_LABELS = ("silence", "unknown", "yes", "no")
NON_KEYWORDS = ("silence", "unknown", "_silence_", "_unknown_", "_background_noise_", "other")


def _model_meta(tflite: Path) -> dict[str, Any]:
    meta_path = tflite.with_name("model.json")
    if not meta_path.is_file():
        return {}
    try:
        return dict(json.loads(meta_path.read_text()))
    except (OSError, ValueError) as exc:
        raise KwsError(f"{meta_path}: not a readable model.json ({exc})") from None


def feature_table(scale: float, zero_point: int) -> np.ndarray:
    """int8 model input for every micro-frontend value up to the first that saturates.

    Computed with :func:`kws.export.quantize_inputs` on ``to_model_input`` of each value,
    the host's own float32 steps, so the board's lookup is bit-exact with kws.
    """
    from kws.export import quantize_inputs
    from kws.features import MICRO_INPUT_SCALE

    values = np.arange(65536, dtype=np.uint16)
    q = quantize_inputs(values.astype(np.float32) * np.float32(MICRO_INPUT_SCALE), scale,
                        zero_point)
    top = np.flatnonzero(q == q.max())
    return q[: int(top[0]) + 1]


def _c_array(name: str, ctype: str, values: Any) -> str:
    items = [str(int(v)) for v in values]
    rows = [", ".join(items[i:i + 16]) for i in range(0, len(items), 16)]
    return f"const {ctype} {name}[{len(items)}] = {{\n  " + ",\n  ".join(rows) + "\n};\n"


def _c_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def export_arduino_library(
    model_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    name: str = DEFAULT_NAME,
    labels: list[str] | None = None,
    stride_frames: int = 10,
    threshold: float = 0.8,
) -> Path:
    """Write an Arduino library that runs ``model_path`` on the Nano 33 BLE's microphone.

    Parameters
    ----------
    model_path
        int8 ``.tflite`` with micro-frontend input; a ``model.json`` beside it (``kws
        export``) supplies labels and the frontend config (TFLM micro_speech defaults
        otherwise).
    out_dir
        Library directory, replaced as a whole (built in a temporary sibling first).
    name
        Library name (``library.properties``).
    labels
        Class names in output order (overrides model.json).
    stride_frames
        Feature frames (20 ms each by default) between inferences.
    threshold
        Detection probability for the sketch's LED and "DETECTED" mark.

    Returns
    -------
    Path
        ``out_dir``.
    """
    from kws.deploy import compile_model
    from kws.features import MicroFrontendConfig, frontend_from_dict
    from kws.features.micro import tables_for
    from kws.firmware import emit_c

    tflite = Path(model_path)
    if not tflite.is_file():
        raise KwsError(f"{tflite}: model file not found")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
        raise KwsError(f"library name {name!r} must be letters, digits and _")
    if stride_frames < 1:
        raise KwsError(f"stride must be at least 1 frame, not {stride_frames}")
    if not 0.0 < threshold <= 1.0:
        raise KwsError(f"threshold must be a probability in (0, 1], not {threshold}")
    meta = _model_meta(tflite)
    frontend = frontend_from_dict(meta["frontend"]) if "frontend" in meta else (
        MicroFrontendConfig())
    if not isinstance(frontend, MicroFrontendConfig):
        raise KwsError(f"{tflite}: the Arduino export supports micro-frontend models only "
                       f"(this one uses {type(frontend).__name__})")
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=out.parent))
    try:
        src = staging / "src"
        compiled = compile_model(tflite, src, name="model")
        (src / "model.json").unlink(missing_ok=True)
        channels = frontend.num_channels
        if compiled.input_size % channels:
            raise KwsError(f"{tflite}: input of {compiled.input_size} values is not a whole "
                           f"number of {channels}-channel frames")
        frames = compiled.input_size // channels
        names = list(labels or meta.get("labels") or (
            MICRO_SPEECH_LABELS if compiled.num_labels == 4 else
            [f"class{i}" for i in range(compiled.num_labels)]))
        if len(names) != compiled.num_labels:
            raise KwsError(f"{len(names)} labels for a model with {compiled.num_labels} outputs")
        for part in CORE_PARTS:
            shutil.copytree(CORE_DIR / part, src / part)
        for header in CORE_HEADERS:
            shutil.copy2(CORE_DIR / header, src / header)
        for item in (TEMPLATE_DIR / "src").glob("*.[ch]"):
            shutil.copy2(item, src / item.name)
        tables = tables_for(frontend)
        capacity = emit_c.micro_frontend_capacity([tables])
        (src / "kws_config.h").write_text(
            "/* Capacities of the kws C core, sized for this library's frontend (generated). */\n"
            "#ifndef KWS_CONFIG_H_\n#define KWS_CONFIG_H_\n"
            + "".join(f"#define {k} {v}\n" for k, v in capacity.items())
            + "#define KWS_MAX_MFCC 1\n#endif\n"
        )
        table = feature_table(compiled.input_scale, compiled.input_zero_point)
        threshold_q = int(np.clip(
            np.ceil(threshold / compiled.output_scale + compiled.output_zero_point), -128, 127))
        keyword = [0 if n.lower() in NON_KEYWORDS else 1 for n in names]
        step = frontend.step_ms * frontend.sample_rate // 1000
        header = (
            "/* Settings of the exported model (generated by kws.arduino). */\n"
            "#ifndef KWS_SETTINGS_H_\n#define KWS_SETTINGS_H_\n\n#include <stdint.h>\n\n"
            '#include "micro_frontend/micro_frontend.h"\n\n'
            f"#define KWS_FEATURE_FRAMES {frames}\n#define KWS_FEATURE_CHANNELS {channels}\n"
            f"#define KWS_STRIDE_FRAMES {stride_frames}\n"
            f"#define KWS_STRIDE_SAMPLES {stride_frames * step}\n"
            f"#define KWS_FEATURE_TABLE_SIZE {len(table)}\n"
            f"#define KWS_NUM_LABELS {len(names)}\n"
            f"#define KWS_DETECTION_THRESHOLD_Q {threshold_q}\n\n"
            "extern const KwsMicroFrontendConfig kws_frontend_config;\n"
            "extern const int8_t kws_feature_to_input[KWS_FEATURE_TABLE_SIZE];\n"
            "extern const char* const kws_labels[KWS_NUM_LABELS];\n"
            "extern const uint8_t kws_label_is_keyword[KWS_NUM_LABELS];\n\n#endif\n"
        )
        (src / "kws_settings.h").write_text(header)
        (src / "kws_settings.c").write_text(emit_c.c_source(
            ["kws_settings.h"],
            [emit_c.emit_micro_frontend_config(tables, "kws_frontend_config"),
             _c_array("kws_feature_to_input", "int8_t", table),
             "const char* const kws_labels[KWS_NUM_LABELS] = {"
             + ", ".join(_c_string(n) for n in names) + "};\n",
             _c_array("kws_label_is_keyword", "uint8_t", keyword)],
            comment=f"Frontend tables, feature quantization and labels for {tflite.name}",
        ))
        guard = re.sub(r"\W", "_", name).upper()
        header_in = (TEMPLATE_DIR / "src" / "library_header.h.in").read_text()
        (src / HEADER_NAME).write_text(header_in.format(name=name, model=tflite.name,
                                                        guard=guard))
        props = (TEMPLATE_DIR / "library.properties.in").read_text().format(
            name=name, version=_version(), model=tflite.name, labels=", ".join(names),
            header=HEADER_NAME)
        (staging / "library.properties").write_text(props)
        shutil.copytree(TEMPLATE_DIR / "examples", staging / "examples")
        shutil.copy2(TEMPLATE_DIR / "README.md", staging / "README.md")
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kws")
    except PackageNotFoundError:
        return "0.0.0"
