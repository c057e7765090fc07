"""Board-specific packaging of a deploy for ``"package": "arduino-library"`` boards.

The Nano 33 BLE (Sense) is programmed through the Arduino IDE, whose board core supplies
startup code, drivers and linking, so :func:`kws.firmware_project.deploy.deploy` hands it
the same application as every other board laid out as an Arduino library::

    library.properties
    src/<name>.h              what a sketch includes (the kws_app API, settings, model)
    src/kws_app.c, ...        the pipeline of firmware/app (no main.c, no wire protocol)
    src/kws_app_config.h      generated, as for every board
    src/model*.{c,h}, frontend.c   generated
    src/kernels/, src/micro_frontend/ or src/mfcc/, src/kws_*.h   firmware/core
    src/kws_config.h          firmware/core's, with capacities sized for the frontend
    examples/kws_micro_speech/kws_micro_speech.ino   a sketch on the PDM microphone

Everything under ``src/`` is portable C99 that arm-none-eabi-gcc compiles as it is; the
sketch needs the Arduino IDE or arduino-cli.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from string import Template
from typing import Any

from kws.boards import Board
from kws.errors import KwsError
from kws.fileio import write_text_atomic
from kws.firmware_project.layout import APP_DIR, CORE_DIR

# The pipeline of firmware/app a sketch drives (main.c and the wire protocol stay behind).
PIPELINE = ("kws_app", "feature_window", "feature_quantize", "score_average")
_CONFIG_GUARD = "#define KWS_CONFIG_H_\n"


def check_library_name(name: str) -> None:
    """KwsError unless ``name`` (the output directory's name) is a valid library name."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
        raise KwsError(f"library name {name!r} (the output directory) must be letters, "
                       "digits and _, starting with a letter")


def library_header_name(name: str) -> str:
    """The header a sketch includes: ``KwsMicroSpeech`` -> ``kws_micro_speech.h``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower() + ".h"


def _sized_core_config(defines: dict[str, Any]) -> str:
    """``firmware/core/kws_config.h`` with the capacity macros a make project passes as -D
    written in (an Arduino library has no build flags of its own)."""
    text = (CORE_DIR / "kws_config.h").read_text()
    if _CONFIG_GUARD not in text:
        raise KwsError(f"{CORE_DIR / 'kws_config.h'}: include guard {_CONFIG_GUARD.strip()!r} "
                       "not found")
    sized = "".join(f"#define {k} {v}\n" for k, v in defines.items() if k.startswith("KWS_MAX_"))
    note = "\n/* Capacities sized for this library's frontend by kws deploy. */\n"
    return text.replace(_CONFIG_GUARD, _CONFIG_GUARD + note + sized, 1)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kws")
    except PackageNotFoundError:
        return "0.0.0"


def package_library(staging: Path, name: str, board: Board, cfg: dict[str, Any]) -> None:
    """Lay out ``staging`` (holding ``generated/``) as the Arduino library ``name``."""
    from kws.firmware_project.deploy import copy_core

    src = staging / "src"
    os.replace(staging / "generated", src)
    for stem in PIPELINE:
        for suffix in (".c", ".h"):
            shutil.copy2(APP_DIR / (stem + suffix), src / (stem + suffix))
    copy_core(cfg, src)
    write_text_atomic(src / "kws_config.h", _sized_core_config(cfg["defines"]))
    header = library_header_name(name)
    if (src / header).exists():
        raise KwsError(f"library name {name!r} would make its header {header} replace the "
                       "library's own; choose another output directory name")
    guard = re.sub(r"\W", "_", name).upper()
    template = board.directory
    write_text_atomic(src / header, (template / "library_header.h.in").read_text().format(
        name=name, model=cfg["model_file"], guard=guard))
    write_text_atomic(staging / "library.properties",
                      (template / "library.properties.in").read_text().format(
                          name=name, version=_version(), model=cfg["model_file"],
                          labels=", ".join(cfg["labels"]), header=header))
    for sketch in sorted((template / "examples").rglob("*.ino.in")):
        dest = staging / sketch.relative_to(template).with_suffix("")
        dest.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(dest, Template(sketch.read_text()).substitute(header=header))
    shutil.copy2(template / "README.md", staging / "README.md")
