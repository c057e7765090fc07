"""Flash firmware onto a real board with the standard tools (``kws flash``).

:func:`plan_flash` turns a firmware (a ``kws deploy`` project directory, an ``.elf`` or a
``.bin``) plus a board and a tool into a :class:`FlashPlan`: the exact steps, each either an
external command (``arm-none-eabi-objcopy``, ``st-flash``, ``openocd``, ``dfu-util``,
``bossac``) or an in-process step (the STM32 ROM bootloader client of
:mod:`kws.stm32_bootloader`, the Nano's 1200-baud touch).  ``FlashPlan.describe()`` is what
``--dry-run`` prints; :func:`run_plan` executes it after checking every tool is installed.

Tools per board:

- ``stm32f4-disco``: ``st-flash`` (ST-LINK, Debian ``stlink-tools``), ``openocd``
  (ST-LINK, Debian ``openocd``), ``dfu-util`` (ROM USB DFU: BOOT0 high, USB OTG FS port;
  Debian ``dfu-util``), ``serial`` (ROM USART bootloader, AN3155: BOOT0 high, a 3.3 V
  USB-serial adapter on USART1 PA9 = TX / PA10 = RX; the ST-LINK VCP on USART2 cannot reach
  the ROM bootloader).
- ``nano33ble``: ``bossac`` (Debian ``bossa-cli``) after a 1200-baud touch that drops the
  board into its bootloader; the application lives at 0x10000, after the bootloader.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kws.errors import KwsError

OBJCOPY = "arm-none-eabi-objcopy"
# Tool -> Debian package that provides it ("serial" is kws's own AN3155 client on pyserial).
DEBIAN_PACKAGES = {
    "st-flash": "stlink-tools",
    "openocd": "openocd",
    "dfu-util": "dfu-util",
    "bossac": "bossa-cli",
    OBJCOPY: "binutils-arm-none-eabi",
}
ALL_TOOLS = ("st-flash", "openocd", "dfu-util", "serial", "bossac")

# USB ids (vid, pid) of serial ports, by use.
ARDUINO_NANO33BLE_IDS = {
    (0x2341, 0x805A): "Nano 33 BLE",
    (0x2341, 0x005A): "Nano 33 BLE bootloader",
}
USB_SERIAL_ADAPTER_IDS = {
    (0x0403, 0x6001): "FTDI FT232R",
    (0x0403, 0x6010): "FTDI FT2232",
    (0x0403, 0x6014): "FTDI FT232H",
    (0x0403, 0x6015): "FTDI FT-X",
    (0x10C4, 0xEA60): "Silicon Labs CP210x",
    (0x1A86, 0x7523): "WCH CH340",
    (0x067B, 0x2303): "Prolific PL2303",
}

# Boards that kws flashes but does not build bare-metal (no board.json): the Nano is built
# by the Arduino IDE / arduino-cli from the exported library (kws.arduino).
BUILTIN_FLASH = {
    "nano33ble": {"tools": ["bossac"], "address": "0x10000", "format": "bin"},
}
PORT_PLACEHOLDER = "PORT"
TOUCH_SETTLE_S = 0.5
BOOTLOADER_PORT_WAIT_S = 5.0


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

    def describe(self) -> str:
        """Every step as one line (what ``--dry-run`` prints)."""
        return "\n".join(step.line() for step in self.steps)


# --- inputs -------------------------------------------------------------------------------


def board_flash_settings(board: str) -> dict[str, Any]:
    """``flash`` object of a board: ``{"tools", "address", "format"}``.

    Read from ``firmware/boards/<board>/board.json`` (kws.boards), or kws's built-in table
    for boards that are built outside kws (``nano33ble``).
    """
    if board in BUILTIN_FLASH:
        return dict(BUILTIN_FLASH[board])
    from kws.boards import get_board

    settings = dict(get_board(board).flash)
    if not settings.get("tools"):
        raise KwsError(
            f"board {board!r} has nothing to flash (it is emulated): use `kws firmware run`"
        )
    return settings


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


@dataclass(frozen=True)
class PortInfo:
    """A serial port as pyserial lists it."""

    device: str
    vid: int | None
    pid: int | None
    description: str = ""


def list_serial_ports() -> list[PortInfo]:
    """Serial ports on this machine (empty when none, or when pyserial cannot list them)."""
    try:
        from serial.tools import list_ports
    except ImportError:
        return []
    try:
        ports = list_ports.comports()
    except OSError:
        return []
    return [PortInfo(p.device, p.vid, p.pid, p.description or "") for p in ports]


def _port_ids(board: str, tool: str) -> dict[tuple[int, int], str]:
    if tool == "bossac":
        return ARDUINO_NANO33BLE_IDS
    if tool == "serial":
        return USB_SERIAL_ADAPTER_IDS
    return {}


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
    baud: int = 115200,
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
    steps: list[Step] = []
    if tool == "openocd":
        image = firmware
        program = (f"program {firmware} verify reset exit" if firmware.suffix == ".elf"
                   else f"program {firmware} {address:#010x} verify reset exit")
        steps.append(Step(["openocd", "-f", "interface/stlink.cfg", "-f", "target/stm32f4x.cfg",
                           "-c", program], tool="openocd"))
    elif tool == "st-flash":
        image = _bin_for(firmware, steps)
        steps.append(Step(["st-flash", "write", str(image), f"{address:#x}"], tool="st-flash"))
    elif tool == "dfu-util":
        image = _bin_for(firmware, steps)
        steps.append(Step(["dfu-util", "-d", "0483:df11", "-a", "0", "-s",
                           f"{address:#010x}:leave", "-D", str(image)], tool="dfu-util"))
    elif tool == "serial":
        image = _bin_for(firmware, steps)
        assert port is not None
        serial_port = port

        def write_serial() -> None:
            from kws.stm32_bootloader import flash_image

            flash_image(serial_port, _read_image(image), address, baud=baud)

        steps.append(Step(
            description=(f"STM32 ROM bootloader (AN3155) on {port} at {baud} 8E1: erase, write "
                         f"{image} at {address:#010x} in 256-byte blocks, verify, go"),
            action=write_serial,
        ))
    elif tool == "bossac":
        image = _bin_for(firmware, steps)
        assert port is not None
        touch_port = port
        steps.append(Step(
            description=f"1200-baud touch on {port} (resets the Nano into its bootloader)",
            action=lambda: _touch_1200(touch_port),
        ))
        port_name = os.path.basename(port) if port != PORT_PLACEHOLDER else port
        steps.append(Step(["bossac", "-d", f"--port={port_name}", "-U", "-i", "-e", "-w",
                           str(image), "-R"], tool="bossac"))
    else:
        raise KwsError(f"unknown flash tool {tool!r}: use one of {', '.join(ALL_TOOLS)}")
    return FlashPlan(board, tool, firmware, image, address, port, steps, notes)


def _read_image(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KwsError(f"{path}: cannot read the firmware image ({exc.strerror or exc})") from None
    if not data:
        raise KwsError(f"{path}: the firmware image is empty")
    return data


def _touch_1200(port: str) -> None:
    """Open and close ``port`` at 1200 baud: the Arduino signal to enter the bootloader."""
    import serial

    try:
        with serial.Serial(port, 1200):
            pass
    except (serial.SerialException, OSError) as exc:
        raise KwsError(f"{port}: 1200-baud touch failed ({exc})") from None
    # The board re-enumerates; wait until its port is back before bossac opens it.
    deadline = time.monotonic() + BOOTLOADER_PORT_WAIT_S
    time.sleep(TOUCH_SETTLE_S)
    while time.monotonic() < deadline and not os.path.exists(port):
        time.sleep(0.1)


def missing_tools(plan: FlashPlan) -> list[str]:
    """Executables the plan needs that are not on ``PATH``."""
    return [s.tool for s in plan.steps if s.tool and shutil.which(s.tool) is None]


def check_tools(plan: FlashPlan) -> None:
    """KwsError naming the Debian package for the first missing tool."""
    for tool in missing_tools(plan):
        package = DEBIAN_PACKAGES.get(tool, tool)
        raise KwsError(f"{tool} not found on PATH: install it with `sudo apt-get install "
                       f"{package}` (or choose another --tool)")


def run_plan(plan: FlashPlan, *, dry_run: bool = False, echo: Callable[[str], None] | None = None
             ) -> None:
    """Execute (or, with ``dry_run``, only print) every step of ``plan``."""
    say = echo or (lambda text: print(text, flush=True))
    if dry_run:
        for note in plan.notes:
            print(f"kws: note: {note}", file=sys.stderr)
        say(plan.describe())
        return
    check_tools(plan)
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
