"""Build a generated project with ``make`` and report its flash and RAM per section."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kws.errors import KwsError
from kws.firmware_project.layout import load_project
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
    """Sizes of a built firmware (bytes): its ELF's sections and the model's arena."""

    elf: Path
    arena_bytes: int
    sections: dict[str, int]

    @property
    def flash_bytes(self) -> int:
        return self.flash

    @property
    def ram_bytes(self) -> int:
        return self.ram

    def to_json(self) -> dict[str, int]:
        return {"flash_bytes": self.flash_bytes, "ram_bytes": self.ram_bytes,
                "arena_bytes": self.arena_bytes, "text": self.text, "data": self.data,
                "bss": self.bss}


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
    return BuildReport(size.text, size.data, size.bss, size.stack, elf=elf,
                       arena_bytes=int(cfg["arena_bytes"]), sections=_sections(elf))
