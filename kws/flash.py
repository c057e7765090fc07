"""Flash firmware onto a real board with the standard tools (``kws flash``).

:func:`plan_flash` turns a firmware (a ``kws deploy`` project directory, an ``.elf`` or a
``.bin``) plus a board and a tool into a :class:`FlashPlan`: the exact steps, each either an
external command (``arm-none-eabi-objcopy``, ``st-flash``, ``openocd``, ``dfu-util``,
``bossac``) or an in-process step (the STM32 ROM bootloader client of
:mod:`kws.stm32_bootloader`, the Nano's 1200-baud touch).  ``FlashPlan.describe()`` is what
``--dry-run`` prints; :func:`run_plan` executes it after checking every tool is installed.

Each board's tools, load address and image format are its ``board.json``'s ``flash`` object
(:mod:`kws.boards`); the tools themselves are found by :mod:`kws.flash_tools`:

- ``stm32f4-disco``: ``st-flash`` (ST-LINK, Debian ``stlink-tools``; ``--reset`` so the new
  image starts at once), ``openocd`` (ST-LINK, Debian ``openocd``), ``dfu-util`` (ROM USB
  DFU: BOOT0 high, USB OTG FS port; Debian ``dfu-util``), ``serial`` (ROM USART
  bootloader, AN3155: BOOT0 high, a 3.3 V USB-serial adapter on USART1 PA9 = TX /
  PA10 = RX).  On the Discovery PA9 is also VBUS_FS with a 4.7 uF capacitor (C49) that
  slows the ROM's TX edges: the default ``serial_baud`` is 1200, which gets through it;
  with C49 removed pass ``--baud 115200``.
- ``nano33ble``: Arduino's ``bossac`` fork after a 1200-baud touch that drops the board
  into its bootloader; the application lives at 0x10000, after the bootloader, and a
  ``.bin``'s vector table must say so.
"""

from __future__ import annotations

import json
import os
import shlex
import struct
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kws.errors import KwsError
from kws.flash_tools import (
    OBJCOPY,
    USB_SERIAL_ADAPTER_IDS,
    PortInfo,
    check_tools,
    list_serial_ports,
    tool_path,
    touch_1200,
    usb_ids,
)

__all__ = ["FlashPlan", "PortInfo", "Step", "detect_port", "list_serial_ports", "plan_flash",
           "run_plan"]
ALL_TOOLS = ("st-flash", "openocd", "dfu-util", "serial", "bossac")
PORT_PLACEHOLDER = "PORT"
DEFAULT_SERIAL_BAUD = 115200


@dataclass
class Step:
    """One flashing step: an external command (``argv``) or an in-process ``action``."""

    argv: list[str] | None = None
    description: str = ""
    action: Callable[[], None] | None = None
    tool: str | None = None  # executable that must be on PATH

    def line(self) -> str:
        """Shell-quoted command line, or ``# kws: <description>`` for in-process steps."""
        if self.argv is not None:
            return shlex.join(self.argv)
        return f"# kws: {self.description}"


@dataclass
class FlashPlan:
    """What ``kws flash`` will do for one board, tool and firmware."""

    board: str
    tool: str
    firmware: Path
    image: Path  # the file the tool writes (.bin, or the .elf for openocd)
    address: int
    port: str | None
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    console: str = ""  # where the flashed firmware talks (board.json uart.port_hint)

    def describe(self) -> str:
        """Every step as one line (what ``--dry-run`` prints)."""
        return "\n".join(step.line() for step in self.steps)


# --- inputs -------------------------------------------------------------------------------


def board_flash_settings(board: str) -> dict[str, Any]:
    """``flash`` object of a board's ``board.json``: ``{"tools", "address", "format", ...}``."""
    from kws.boards import get_board

    settings = dict(get_board(board).flash)
    if not settings.get("tools"):
        raise KwsError(
            f"board {board!r} has nothing to flash (it is emulated): use `kws firmware run`"
        )
    return settings


def check_bin_vectors(image: Path, settings: dict[str, Any], board: str) -> None:
    """A ``.bin`` must be linked for the address it is written to: its initial stack pointer
    in RAM and its reset vector (Thumb) inside the application flash (``bin_vectors``)."""
    rule = settings.get("bin_vectors")
    if not rule:
        return
    data = _read_image(image)
    if len(data) < 8:
        raise KwsError(f"{image}: {len(data)} bytes cannot hold a vector table")
    sp, reset = struct.unpack_from("<II", data, 0)
    start = int(str(settings["address"]), 0)
    end = int(str(rule["flash_end"]), 0)
    ram = [int(str(v), 0) for v in rule["ram"]]
    if not (start <= reset < end and reset & 1) or not ram[0] < sp <= ram[1]:
        raise KwsError(
            f"{image}: not an application for {board} at {start:#x} (reset vector "
            f"{reset:#010x}, stack {sp:#010x}; want a Thumb address in {start:#x}..{end:#x} and "
            f"a stack in {ram[0]:#x}..{ram[1]:#x}): build it for the board, e.g. with "
            "arduino-cli -b arduino:mbed_nano:nano33ble"
        )


def _project_board(directory: Path) -> str | None:
    path = directory / "project.json"
    if not path.is_file():
        return None
    try:
        return str(json.loads(path.read_text()).get("board") or "") or None
    except (OSError, json.JSONDecodeError) as exc:
        raise KwsError(f"{path}: not a readable kws project file ({exc})") from None


def find_firmware(path: str | os.PathLike) -> Path:
    """The firmware file to flash for ``path`` (a project directory, ``.elf`` or ``.bin``).

    A directory means its ``build/firmware.elf`` (``kws deploy`` + ``kws firmware build``),
    else the single ``.elf`` (or, failing that, ``.bin``) in it or in its ``build/``.
    """
    p = Path(path)
    if p.is_file():
        if p.suffix.lower() not in (".elf", ".bin"):
            raise KwsError(f"{p}: cannot flash a {p.suffix or 'suffix-less'} file (give an "
                           ".elf or .bin, or a kws deploy project directory)")
        return p
    if not p.is_dir():
        raise KwsError(f"{p}: no such firmware file or project directory")
    preferred = p / "build" / "firmware.elf"
    if preferred.is_file():
        return preferred
    for suffix in (".elf", ".bin"):
        found = sorted({*p.glob(f"*{suffix}"), *(p / "build").glob(f"*{suffix}")})
        found = [f for f in found if f.is_file() and f.stem != "bench"]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = ", ".join(str(f) for f in found)
            raise KwsError(f"{p}: several {suffix} files ({names}); name the one to flash")
    if (p / "project.json").is_file():
        raise KwsError(f"{p}: the project is not built yet (no build/firmware.elf): run "
                       f"`kws firmware build {p}` first")
    raise KwsError(f"{p}: no .elf or .bin firmware found (looked in {p} and {p / 'build'})")


def elf_load_address(elf: Path) -> int:
    """Lowest physical address of the ELF's loadable, non-empty segments (ARM ELF32 only)."""
    try:
        data = elf.read_bytes()
    except OSError as exc:
        raise KwsError(f"{elf}: cannot read ({exc.strerror or exc})") from None
    if len(data) < 52 or data[:4] != b"\x7fELF":
        raise KwsError(f"{elf}: not an ELF file")
    if data[4] != 1 or data[5] != 1:
        raise KwsError(f"{elf}: not a 32-bit little-endian ELF (not Cortex-M firmware)")
    machine = struct.unpack_from("<H", data, 18)[0]
    if machine != 40:
        raise KwsError(f"{elf}: built for ELF machine {machine}, not ARM (40)")
    phoff, = struct.unpack_from("<I", data, 28)
    phentsize, phnum = struct.unpack_from("<HH", data, 42)
    addresses = []
    for i in range(phnum):
        off = phoff + i * phentsize
        if off + 32 > len(data):
            raise KwsError(f"{elf}: truncated program header table")
        p_type, _, _, p_paddr, p_filesz = struct.unpack_from("<IIIII", data, off)
        if p_type == 1 and p_filesz > 0:
            addresses.append(p_paddr)
    if not addresses:
        raise KwsError(f"{elf}: no loadable segments")
    return min(addresses)


# --- serial ports ------------------------------------------------------------------------


def _port_ids(board: str, tool: str) -> dict[tuple[int, int], str]:
    if tool == "serial":
        return USB_SERIAL_ADAPTER_IDS
    from kws.boards import get_board

    described = get_board(board)
    return {**usb_ids(described.uart.get("usb_ids", {})),
            **usb_ids(described.flash.get("bootloader_usb_ids", {}))}


def detect_port(board: str, tool: str, ports: Sequence[PortInfo] | None = None) -> str:
    """The one attached serial port that fits ``tool`` on ``board``.

    Raises
    ------
    KwsError
        No matching port (the message says what was looked for and suggests ``--port``), or
        several (listed, so the user can pick one).
    """
    ids = _port_ids(board, tool)
    ports = list_serial_ports() if ports is None else list(ports)
    matches = [p for p in ports if (p.vid, p.pid) in ids]
    wanted = ", ".join(f"{v:04x}:{p:04x} {n}" for (v, p), n in ids.items())
    if not matches:
        seen = ", ".join(p.device for p in ports) or "none"
        hint = ""
        if tool == "serial":
            hint = (" (the ST-LINK virtual COM port cannot reach the ROM bootloader: wire a "
                    "USB-serial adapter to USART1 PA9/PA10 and set BOOT0 high)")
        raise KwsError(
            f"no serial port for {tool} on {board} found (looked for USB {wanted}; ports "
            f"present: {seen}){hint}; connect the board or pass --port"
        )
    if len(matches) > 1:
        names = ", ".join(f"{p.device} ({ids[(p.vid, p.pid)]})" for p in matches)  # type: ignore[index]
        raise KwsError(f"several candidate ports for {board}: {names}; choose one with --port")
    return matches[0].device


# --- planning -----------------------------------------------------------------------------


def _bin_for(firmware: Path, steps: list[Step]) -> Path:
    if firmware.suffix.lower() == ".bin":
        return firmware
    out = firmware.with_suffix(".bin")
    steps.append(Step([OBJCOPY, "-O", "binary", str(firmware), str(out)], tool=OBJCOPY))
    return out


def plan_flash(
    firmware_path: str | os.PathLike,
    board: str | None = None,
    tool: str | None = None,
    port: str | None = None,
    *,
    dry_run: bool = False,
    baud: int | None = None,
    ports: Sequence[PortInfo] | None = None,
) -> FlashPlan:
    """Work out the steps that flash ``firmware_path`` onto ``board`` with ``tool``.

    Parameters
    ----------
    firmware_path
        A ``kws deploy`` project directory, an ``.elf`` or a ``.bin``.
    board
        Board name; defaults to the project's board (``project.json``).
    tool
        One of the board's tools; defaults to its first (``st-flash`` / ``bossac``).
    port
        Serial port for ``serial`` and ``bossac``; auto-detected by USB id when omitted.
        In a dry run an undetectable port is shown as ``PORT``.
    baud
        ``serial`` only; the board's ``serial_baud`` (else 115200) by default.
    ports
        Port list to detect from (tests); the machine's ports by default.
    """
    source = Path(firmware_path)
    if board is None:
        board = _project_board(source) if source.is_dir() else None
        if board is None:
            raise KwsError("which board? pass --board (e.g. stm32f4-disco or nano33ble)")
    settings = board_flash_settings(board)
    tools = [str(t) for t in settings.get("tools", [])]
    tool = tool or tools[0]
    if tool not in tools:
        raise KwsError(f"{tool} cannot flash {board}: use one of {', '.join(tools)}")
    address = int(str(settings.get("address", "0")), 0)
    firmware = find_firmware(source)
    if firmware.suffix.lower() == ".bin":
        check_bin_vectors(firmware, settings, board)
    notes: list[str] = []
    if firmware.suffix.lower() == ".elf":
        linked = elf_load_address(firmware)
        if linked != address:
            raise KwsError(
                f"{firmware} is linked at {linked:#010x}, but {board} runs its application "
                f"from {address:#010x}: build the firmware for --board {board}"
            )
    if tool in ("serial", "bossac") and port is None:
        try:
            port = detect_port(board, tool, ports)
        except KwsError as exc:
            if not dry_run:
                raise
            notes.append(f"{exc} (shown as {PORT_PLACEHOLDER})")
            port = PORT_PLACEHOLDER
    serial_baud = baud or int(settings.get("serial_baud", DEFAULT_SERIAL_BAUD))
    image, steps = _tool_steps(tool, firmware, address, port, serial_baud, board)
    from kws.boards import get_board

    console = str(get_board(board).uart.get("port_hint", ""))
    return FlashPlan(board, tool, firmware, image, address, port, steps, notes, console)


def _tool_steps(tool: str, firmware: Path, address: int, port: str | None, baud: int,
                board: str) -> tuple[Path, list[Step]]:
    """(the file the tool writes, the steps) for one tool."""
    steps: list[Step] = []
    if tool == "openocd":
        # Tcl braces: the path stays one word whatever it contains (spaces, $, [ ]).
        where = "" if firmware.suffix == ".elf" else f" {address:#010x}"
        steps.append(Step(["openocd", "-f", "interface/stlink.cfg", "-f", "target/stm32f4x.cfg",
                           "-c", f"program {{{firmware}}}{where} verify reset exit"],
                          tool="openocd"))
        return firmware, steps
    if tool not in ALL_TOOLS:
        raise KwsError(f"unknown flash tool {tool!r}: use one of {', '.join(ALL_TOOLS)}")
    image = _bin_for(firmware, steps)
    if tool == "st-flash":
        steps.append(Step(["st-flash", "--reset", "write", str(image), f"{address:#x}"],
                          tool="st-flash"))
    elif tool == "dfu-util":
        steps.append(Step(["dfu-util", "-d", "0483:df11", "-a", "0", "-s",
                           f"{address:#010x}:leave", "-D", str(image)], tool="dfu-util"))
    elif tool == "serial":
        assert port is not None
        steps.append(_serial_step(port, image, address, baud))
    else:  # bossac
        assert port is not None
        steps += _bossac_steps(port, image, _port_ids(board, tool))
    return image, steps


def _serial_step(port: str, image: Path, address: int, baud: int) -> Step:
    def write_serial() -> None:
        from kws.stm32_bootloader import flash_image

        flash_image(port, _read_image(image), address, baud=baud)

    return Step(
        description=(f"STM32 ROM bootloader (AN3155) on {port} at {baud} 8E1: erase, write "
                     f"{image} at {address:#010x} in 256-byte blocks, verify, go"),
        action=write_serial,
    )


def _bossac_steps(port: str, image: Path, bootloader_ids: dict[tuple[int, int], str]
                  ) -> list[Step]:
    port_name = os.path.basename(port) if port != PORT_PLACEHOLDER else port
    flash = Step([tool_path("bossac") or "bossac", "-d", f"--port={port_name}", "-U", "-i",
                  "-e", "-w", str(image), "-R"], tool="bossac")

    def touch() -> None:
        # bossac must talk to the port the bootloader comes back on, maybe a new name.
        assert flash.argv is not None
        flash.argv[2] = f"--port={os.path.basename(touch_1200(port, bootloader_ids))}"

    return [Step(description=f"1200-baud touch on {port} (resets the Nano into its "
                 "bootloader; bossac then uses the port it comes back on)", action=touch),
            flash]


def _read_image(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KwsError(f"{path}: cannot read the firmware image ({exc.strerror or exc})") from None
    if not data:
        raise KwsError(f"{path}: the firmware image is empty")
    return data


def run_plan(plan: FlashPlan, *, dry_run: bool = False, echo: Callable[[str], None] | None = None
             ) -> None:
    """Execute (or, with ``dry_run``, only print) every step of ``plan``."""
    say = echo or (lambda text: print(text, flush=True))
    if dry_run:
        for note in plan.notes:
            print(f"kws: note: {note}", file=sys.stderr)
        say(plan.describe())
        return
    check_tools(s.tool for s in plan.steps if s.tool)
    if plan.image.suffix == ".bin" and plan.image != plan.firmware:
        plan.image.unlink(missing_ok=True)  # objcopy rewrites it; never flash a stale one
    for step in plan.steps:
        say(step.line())
        if step.action is not None:
            step.action()
            continue
        assert step.argv is not None
        proc = subprocess.run(step.argv)
        if proc.returncode != 0:
            raise KwsError(f"{step.argv[0]} failed with exit status {proc.returncode}: "
                           f"{step.line()}")
    if plan.console:
        say(f"# kws: the firmware's console: {plan.console}")
