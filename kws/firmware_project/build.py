"""Build a generated project with ``make`` and report its flash and RAM per section, the
library members it linked and its memory plan beside what the image holds."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kws.errors import KwsError
from kws.firmware_project.layout import load_project
from kws.firmware_project.memory import archive_members, measured_memory
from kws.firmware_project.toolchain import ElfSize, find_tool, memory_overflow, size_of


def _make(project_dir: Path, target: str, extra: list[str] | None = None) -> None:
    find_tool("arm-none-eabi-gcc")
    make = shutil.which("make")
    if make is None:
        raise KwsError("make not found on PATH: install it with `sudo apt-get install make`")
    proc = subprocess.run([make, "-C", str(project_dir), target, *(extra or [])],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        text = (proc.stderr or proc.stdout).strip()
        overflow = memory_overflow(text)
        if overflow:
            raise KwsError(f"{project_dir}: the firmware does not fit the board: {overflow}")
        raise KwsError(f"{project_dir}: `make {target}` failed:\n{text[-4000:]}")


@dataclass(frozen=True)
class BuildReport(ElfSize):
    """Sizes of a built firmware (bytes): its ELF's sections and the model's arena, the
    libc/libgcc members linked into it, and its memory (``planned`` by ``kws deploy``,
    ``measured`` from the image, ``available`` on the board)."""

    elf: Path
    arena_bytes: int
    sections: dict[str, int]
    libc_members: list[str] = field(default_factory=list)
    memory: dict[str, Any] = field(default_factory=dict)

    @property
    def flash_bytes(self) -> int:
        return self.flash

    @property
    def ram_bytes(self) -> int:
        return self.ram

    def to_json(self) -> dict[str, Any]:
        return {"flash_bytes": self.flash_bytes, "ram_bytes": self.ram_bytes,
                "arena_bytes": self.arena_bytes, "text": self.text, "data": self.data,
                "bss": self.bss, "libc_members": list(self.libc_members),
                "memory": self.memory}


def _sections(elf: Path) -> dict[str, int]:
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
    pdir = Path(project_dir)
    cfg = load_project(pdir)
    if not cfg.get("elf"):
        raise KwsError(f"{pdir}: a {cfg['board']} library is built by the Arduino IDE or "
                       "arduino-cli, not by kws (see its README.md)")
    _make(pdir, target)
    elf = pdir / (cfg["bench_elf"] if target == "bench" else cfg["elf"])
    size = size_of(elf)
    plan = cfg.get("memory_plan")
    measured = measured_memory(elf, size.stack, size.flash)
    measured.update(ram_bytes=size.ram, flash_bytes=size.flash)
    memory = {"planned": plan, "measured": measured,
              "available": {"ram_bytes": plan["ram_available"],
                            "flash_bytes": plan["flash_available"]} if plan else None}
    map_file = elf.with_suffix(".map")
    return BuildReport(size.text, size.data, size.bss, size.stack, elf=elf,
                       arena_bytes=int(cfg["arena_bytes"]), sections=_sections(elf),
                       libc_members=archive_members(map_file) if map_file.is_file() else [],
                       memory=memory)
