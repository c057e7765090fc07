"""Build a generated project with ``make`` and report its flash and RAM per section."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kws.errors import KwsError
from kws.firmware_project.layout import load_project


def _make(project_dir: Path, target: str, extra: list[str] | None = None) -> None:
    from kws.firmware_project.toolchain import find_tool

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
    from kws.firmware_project.toolchain import find_tool

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
    from kws.firmware_project.toolchain import size_of

    pdir = Path(project_dir)
    cfg = load_project(pdir)
    if not cfg.get("elf"):
        raise KwsError(f"{pdir}: a {cfg['board']} library is built by the Arduino IDE or "
                       "arduino-cli, not by kws (see its README.md)")
    _make(pdir, target)
    elf = pdir / (cfg["bench_elf"] if target == "bench" else cfg["elf"])
    size = size_of(elf)
    return BuildReport(elf, size.text, size.data, size.bss, size.stack, int(cfg["arena_bytes"]),
                       _sections(elf))
