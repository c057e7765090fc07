"""Engines ``qemu`` and ``qemu:BOARD`` (registered lazily in :mod:`kws.engines`): a
model-only firmware of the model on an emulated board (by default QEMU's Cortex-M4), fed
TENSOR frames over the UART."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from kws.boards import DEFAULT_BOARD, get_board
from kws.engines import EngineFn
from kws.errors import KwsError
from kws.firmware_project.build import build_project
from kws.firmware_project.deploy import deploy
from kws.firmware_project.layout import APP_DIR, CORE_DIR, FIRMWARE_DIR, ROOT
from kws.firmware_project.run import run_tensors

# Inputs per emulator run: keeps each run short and its timeout meaningful (the timeouts in
# kws.firmware_project.run leave room for a loaded 2-core machine: they only catch hangs).
BATCH = 500


def _engine_key(model_path: Path, board: str) -> str:
    digest = hashlib.sha256(model_path.read_bytes())
    digest.update(board.encode())
    # Everything that shapes the firmware: app, kernels, board and the model compiler.
    roots = (APP_DIR, CORE_DIR / "kernels", FIRMWARE_DIR / "boards" / board,
             *get_board(board).common_paths(), ROOT / "kws" / "deploy",
             ROOT / "kws" / "firmware_project")
    for root in roots:
        for p in sorted(root.rglob("*")):
            if p.is_file() and p.suffix in (".c", ".h", ".ld", ".json", ".py"):
                digest.update(p.name.encode() + b"\0" + p.read_bytes())
    return digest.hexdigest()[:24]


def engine_project(model_path: str | os.PathLike, board: str = DEFAULT_BOARD) -> Path:
    """A built model-only project for ``model_path``, cached beside the native engine's."""
    from kws.deploy.native import cache_root

    path = Path(model_path)
    root = cache_root().parent / "qemu"
    pdir = root / _engine_key(path, board)
    if not (pdir / "build" / "firmware.elf").is_file():
        deploy(path, pdir, board, frontend="none")
        build_project(pdir)
    return pdir


def run_qemu_engine(model_path: Path, inputs: list[np.ndarray],
                    board: str = DEFAULT_BOARD) -> list[np.ndarray]:
    """Engine ``qemu``: the compiled model in firmware on QEMU's Cortex-M4 (M4 DSP path), or
    on ``board``."""
    if not inputs:
        return []
    pdir = engine_project(model_path, board)
    out: list[np.ndarray] = []
    for start in range(0, len(inputs), BATCH):
        out.extend(run_tensors(pdir, inputs[start : start + BATCH]))
    return out


def qemu_engine(board: str) -> EngineFn:
    """Engine ``qemu:BOARD``: :func:`run_qemu_engine` on the emulated ``board``.

    Raises
    ------
    KwsError
        ``board`` is unknown or QEMU does not emulate it.
    """
    if get_board(board).qemu_machine is None:
        raise KwsError(f"engine 'qemu:{board}': board {board!r} is not emulated by QEMU")

    def run(model_path: Path, inputs: list[np.ndarray]) -> list[np.ndarray]:
        return run_qemu_engine(model_path, inputs, board)

    run.__doc__ = f"Engine ``qemu:{board}``: the compiled model in firmware on {board}."
    return run
