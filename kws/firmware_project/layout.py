"""Where the firmware's C sources are, and the description a generated project carries.

A generated project directory is self-contained: ``make`` builds it with arm-none-eabi-gcc
alone::

    DIR/project.json      what was deployed (board, model hash, frontend, stride, sizes)
    DIR/Makefile          `make` -> build/firmware.elf/.bin (and build/firmware-emu.elf for a
                          real board QEMU also runs), `make bench` -> build/bench.elf
    DIR/app/              copy of firmware/app (pipeline, protocol, main)
    DIR/core/             the needed parts of firmware/core (kernels, frontend or mfcc)
    DIR/board/            copy of firmware/boards/<board>
    DIR/generated/        model.{c,h}, model_weights.{c,h}, kws_app_config.h, frontend.c
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kws.errors import KwsError
from kws.paths import firmware_dir

# The source checkout (or, installed, the folder holding the kws package): engine.py names
# paths relative to it.
ROOT = Path(__file__).resolve().parent.parent.parent
FIRMWARE_DIR = firmware_dir()
APP_DIR = FIRMWARE_DIR / "app"
CORE_DIR = FIRMWARE_DIR / "core"
PROJECT_FORMAT = "kws-project/1"
# A real board's image linked for QEMU (board.json ``emulator.linker_script``).
EMULATOR_ELF = "build/firmware-emu.elf"


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
