"""The ARM GNU toolchain: find it, build bare-metal ELF files, measure them.

Every firmware image is built the same strict way (C99, ``-Wall -Wextra -Werror``, no FMA
contraction, section garbage collection) and linked without libc (``-nostdlib``, libgcc
only, libm on request) against a board of the registry (:mod:`kws.boards`), whose
``board.json`` gives the CPU and float-ABI flags, startup and board API sources
(``board.h``) and a linker script with the part's real memory limits.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kws.boards import DEFAULT_BOARD, Board, get_board
from kws.errors import KwsError
from kws.firmware_project.layout import CORE_DIR

# Tool -> Debian package that provides it.
DEBIAN_PACKAGES = {
    "arm-none-eabi-gcc": "gcc-arm-none-eabi",
    "arm-none-eabi-size": "binutils-arm-none-eabi",
    "arm-none-eabi-objcopy": "binutils-arm-none-eabi",
    "qemu-system-arm": "qemu-system-arm",
}

# Float ABIs kws builds and tests: FPU instructions, or none at all.
FLOAT_ABIS = ("hard", "soft")
C_FLAGS = (
    "-std=c99",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-ffp-contract=off",
    "-ffunction-sections",
    "-fdata-sections",
)
# Longest compiler/linker output kept in an error message.
_MAX_ERROR_CHARS = 4000


def find_tool(name: str) -> str:
    """Absolute path of an ARM tool on ``PATH``.

    Raises
    ------
    KwsError
        When the tool is missing; the message names the Debian package to install.
    """
    path = shutil.which(name)
    if path is None:
        package = DEBIAN_PACKAGES.get(name, name)
        raise KwsError(
            f"{name} not found on PATH: install it with `sudo apt-get install {package}`"
            + (" libnewlib-arm-none-eabi" if package == "gcc-arm-none-eabi" else "")
        )
    return path


def arm_gcc() -> str:
    """Path of ``arm-none-eabi-gcc`` (KwsError naming ``gcc-arm-none-eabi`` when missing)."""
    return find_tool("arm-none-eabi-gcc")


def qemu_system_arm() -> str:
    """Path of ``qemu-system-arm`` (KwsError naming ``qemu-system-arm`` when missing)."""
    return find_tool("qemu-system-arm")


def have_arm_tools() -> bool:
    """True when the cross compiler, ``size`` and QEMU are all installed."""
    tools = ("arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm")
    return all(shutil.which(t) for t in tools)


def core_sources(subdirs: Iterable[str] | None = None) -> list[Path]:
    """C files of the portable core (``firmware/core``), optionally only some subdirectories."""
    if subdirs is None:
        return sorted(CORE_DIR.rglob("*.c"))
    out: list[Path] = []
    for sub in subdirs:
        out.extend(sorted((CORE_DIR / sub).rglob("*.c")))
    return out


def _define_flags(defines: Mapping[str, object] | Iterable[str] | None) -> list[str]:
    if defines is None:
        return []
    if isinstance(defines, Mapping):
        return [f"-D{k}" if v is None else f"-D{k}={v}" for k, v in defines.items()]
    return [f"-D{d}" for d in defines]


def _trim(text: str) -> str:
    text = text.strip()
    if len(text) > _MAX_ERROR_CHARS:
        text = text[:_MAX_ERROR_CHARS] + "\n[...]"
    return text


def compile_flags(float_abi: str = "hard", opt: str = "-O2", board: str = DEFAULT_BOARD
                  ) -> list[str]:
    """The board's CPU and float-ABI flags plus the strictness flags of every ARM compile."""
    if float_abi not in FLOAT_ABIS:
        raise KwsError(f"float_abi must be 'hard' or 'soft', not {float_abi!r}")
    return [*get_board(board).cflags(float_abi), *C_FLAGS, opt]


def build_elf(
    sources: Sequence[str | os.PathLike],
    include_dirs: Sequence[str | os.PathLike],
    out_elf: str | os.PathLike,
    defines: Mapping[str, object] | Iterable[str] | None = None,
    float_abi: str | None = None,
    opt: str = "-O2",
    *,
    board: str | None = DEFAULT_BOARD,
    stack_size: int | None = None,
    link_libm: bool = False,
    extra_flags: Sequence[str] = (),
    map_file: bool = False,
) -> Path:
    """Compile and link a bare-metal Cortex-M ELF.

    Parameters
    ----------
    sources
        Application C files (the board's own sources are added when ``board`` is set).
    include_dirs
        Extra ``-I`` directories (the board directory and ``firmware/core`` are added).
    out_elf
        Output path; written atomically (nothing is left behind on failure).
    defines
        ``{"NAME": value}`` (value ``None`` for a bare ``-DNAME``) or ``["NAME=value"]``,
        e.g. the capacity macros of ``firmware/core/kws_config.h``.
    float_abi
        ``"hard"`` (FPv4-SP, FPU enabled at reset) or ``"soft"`` (no FPU instructions);
        ``None``: the board's own.
    opt
        Optimisation flag, e.g. ``"-O2"`` or ``"-Os"``.
    board
        Board name (``firmware/boards/<board>/board.json``): CPU flags, sources, include
        directories, defines and linker script; ``None`` to compile for the default board's
        CPU without its files (then ``extra_flags`` must supply a linker script).
    stack_size
        Main stack bytes (linker symbol ``_stack_size``); the board's ``stack_bytes`` (or
        its linker script's default) otherwise.
    link_libm
        Link newlib's libm (only for code that calls ``<math.h>`` functions).
    map_file
        Also write ``<out_elf>.map``.

    Returns
    -------
    Path
        ``out_elf``.

    Raises
    ------
    KwsError
        Missing toolchain, compile error, warning (``-Werror``) or a link that does not fit
        the part's memory; the message carries the compiler's diagnostics.
    """
    gcc = arm_gcc()
    out = Path(out_elf)
    out.parent.mkdir(parents=True, exist_ok=True)
    target = get_board(board or DEFAULT_BOARD)
    srcs, incs, board_defines, link = _board_inputs(target if board else None, sources,
                                                    include_dirs)
    if stack_size is None and board:
        stack_size = target.stack_bytes or None
    if stack_size is not None:
        link.append(f"-Wl,--defsym=_stack_size={int(stack_size)}")
    if map_file:
        link.append(f"-Wl,-Map={out}.map")
    cmd = [
        gcc,
        *compile_flags(float_abi or target.float_abi, opt, target.name),
        *board_defines,
        *_define_flags(defines),
        *[f"-I{i}" for i in incs],
        *extra_flags,
        *[str(s) for s in srcs],
        *link,
    ]
    _link_atomically(cmd, out, [*(["-lm"] if link_libm else []), "-lgcc"])
    return out


def _board_inputs(board: Board | None, sources: Sequence[str | os.PathLike],
                  include_dirs: Sequence[str | os.PathLike]
                  ) -> tuple[list[Path], list[Path], list[str], list[str]]:
    """(sources, include dirs, -D flags, linker flags) with the board's files added."""
    srcs = [Path(s) for s in sources]
    incs = [Path(i) for i in include_dirs] + [CORE_DIR]
    defines: list[str] = []
    link: list[str] = []
    if board is not None:
        srcs += board.source_paths()
        incs = [*board.include_paths(), *incs]
        defines = board.define_flags()
        # -L: a board's linker script may INCLUDE its siblings and its shared parts' files.
        search = [a for d in (board.directory, *board.common_paths()) for a in ("-L", str(d))]
        link = [*search, "-T", str(board.linker_script_path()), *board.ldflags]
    for s in srcs:
        if not s.is_file():
            raise KwsError(f"firmware source {s} does not exist")
    return srcs, incs, defines, [*link, "-nostdlib", "-Wl,--gc-sections"]


def memory_overflow(diagnostics: str) -> str | None:
    """``"RAM overflowed by N bytes"`` when the linker says the image does not fit."""
    overflow = re.search(r"region `(\w+)' overflowed by (\d+) bytes", diagnostics)
    return f"{overflow.group(1)} overflowed by {overflow.group(2)} bytes" if overflow else None


def _link_atomically(cmd: list[str], out: Path, libs: list[str]) -> None:
    """Run ``cmd -o TMP libs`` and rename TMP to ``out``; nothing is left on failure."""
    fd, tmp_name = tempfile.mkstemp(prefix=out.name + ".", suffix=".tmp", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        proc = subprocess.run([*cmd, "-o", str(tmp), *libs], capture_output=True, text=True)
        if proc.returncode != 0:
            msg = _trim(proc.stderr or proc.stdout)
            overflow = memory_overflow(msg)
            if overflow:
                raise KwsError(f"{out.name} does not fit the board: {overflow}\n{msg}")
            raise KwsError(f"building {out.name} with arm-none-eabi-gcc failed:\n{msg}")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class ElfSize:
    """Section sizes of an ELF, in bytes, as ``arm-none-eabi-size`` counts them.

    ``bss`` includes the reserved stack (``stack``); ``flash = text + data`` and
    ``ram = data + bss`` are what the part must hold.
    """

    text: int
    data: int
    bss: int
    stack: int

    @property
    def flash(self) -> int:
        return self.text + self.data

    @property
    def ram(self) -> int:
        return self.data + self.bss


def size_of(elf: str | os.PathLike) -> ElfSize:
    """Parse ``arm-none-eabi-size`` (Berkeley and SysV formats) for an ELF."""
    tool = find_tool("arm-none-eabi-size")
    path = Path(elf)
    if not path.is_file():
        raise KwsError(f"{path}: no such ELF file")
    berkeley = subprocess.run([tool, str(path)], capture_output=True, text=True)
    if berkeley.returncode != 0:
        raise KwsError(f"{path}: arm-none-eabi-size failed: {_trim(berkeley.stderr)}")
    lines = berkeley.stdout.strip().splitlines()
    if len(lines) < 2 or not lines[0].split()[:3] == ["text", "data", "bss"]:
        raise KwsError(f"{path}: unexpected arm-none-eabi-size output: {berkeley.stdout!r}")
    text, data, bss = (int(v) for v in lines[1].split()[:3])
    sysv = subprocess.run([tool, "-A", str(path)], capture_output=True, text=True)
    stack = 0
    for line in sysv.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == ".stack":
            stack = int(parts[1])
    return ElfSize(text=text, data=data, bss=bss, stack=stack)
