"""What ``kws flash`` needs from the machine: the flash tools, serial ports, the Nano's
1200-baud touch.

Tools are looked up on ``PATH``, except ``bossac``: the Nano 33 BLE's bootloader speaks only
Arduino's fork of BOSSA (``arduino:bossac``, installed with the Arduino Mbed core), not
upstream BOSSA (Debian's ``bossa-cli``).  :func:`find_bossac` looks where arduino-cli and
the Arduino IDE install it (``~/.arduino15/packages/arduino/tools/bossac/<version>/bossac``,
or under ``$ARDUINO_DIRECTORIES_DATA``), then for a ``bossac`` on ``PATH`` that says it is
the Arduino fork.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from kws.errors import KwsError

OBJCOPY = "arm-none-eabi-objcopy"
# Tool -> how to install it ("serial" is kws's own AN3155 client on pyserial).
INSTALL_HINTS = {
    "st-flash": "install it with `sudo apt-get install stlink-tools`",
    "openocd": "install it with `sudo apt-get install openocd`",
    "dfu-util": "install it with `sudo apt-get install dfu-util`",
    OBJCOPY: "install it with `sudo apt-get install binutils-arm-none-eabi`",
    "bossac": ("install Arduino's fork (arduino:bossac) with the Arduino Mbed core: "
               "`arduino-cli core install arduino:mbed_nano` puts it in "
               "~/.arduino15/packages/arduino/tools/bossac/<version>/bossac (Debian's "
               "bossa-cli is upstream BOSSA, which the Nano's bootloader does not speak)"),
}
# USB ids (vid, pid) of common USB-serial adapters (the STM32 ROM bootloader's USART1).
USB_SERIAL_ADAPTER_IDS = {
    (0x0403, 0x6001): "FTDI FT232R",
    (0x0403, 0x6010): "FTDI FT2232",
    (0x0403, 0x6014): "FTDI FT232H",
    (0x0403, 0x6015): "FTDI FT-X",
    (0x10C4, 0xEA60): "Silicon Labs CP210x",
    (0x1A86, 0x7523): "WCH CH340",
    (0x067B, 0x2303): "Prolific PL2303",
}
TOUCH_SETTLE_S = 0.5
BOOTLOADER_PORT_WAIT_S = 10.0
_POLL_S = 0.1


def _version_key(path: Path) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.\-]", path.parent.name))


def arduino_data_dirs() -> list[Path]:
    """Where arduino-cli / the Arduino IDE keep their packages on this machine."""
    dirs = [Path(d) for d in (os.environ.get("ARDUINO_DIRECTORIES_DATA"),) if d]
    return [*dirs, Path.home() / ".arduino15"]


def find_bossac() -> str | None:
    """Path of Arduino's bossac fork, or ``None`` when it is not installed."""
    for data in arduino_data_dirs():
        found = sorted((data / "packages" / "arduino" / "tools" / "bossac").glob("*/bossac"),
                       key=_version_key)
        found = [f for f in found if os.access(f, os.X_OK)]
        if found:
            return str(found[-1])
    on_path = shutil.which("bossac")
    if on_path is None:
        return None
    try:
        proc = subprocess.run([on_path, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return on_path if "arduino" in (proc.stdout + proc.stderr).lower() else None


def tool_path(tool: str) -> str | None:
    """Executable for ``tool`` (Arduino's fork for ``bossac``), or ``None``."""
    return find_bossac() if tool == "bossac" else shutil.which(tool)


def missing_tools(tools: Iterable[str]) -> list[str]:
    """The tools that are not installed."""
    return [t for t in tools if tool_path(t) is None]


def check_tools(tools: Iterable[str]) -> None:
    """KwsError saying how to install the first missing tool."""
    for tool in missing_tools(tools):
        what = "bossac (Arduino's fork) not found" if tool == "bossac" else \
            f"{tool} not found on PATH"
        raise KwsError(f"{what}: {INSTALL_HINTS.get(tool, 'install it')} (or choose another "
                       "--tool)")


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


def usb_ids(table: Mapping[str, str]) -> dict[tuple[int, int], str]:
    """``{"2341:805a": name}`` (board.json) -> ``{(0x2341, 0x805A): name}``."""
    out = {}
    for key, name in table.items():
        vid, _, pid = key.partition(":")
        out[(int(vid, 16), int(pid, 16))] = str(name)
    return out


def touch_1200(port: str, bootloader_ids: Mapping[tuple[int, int], str]) -> str:
    """Open and close ``port`` at 1200 baud (the Arduino signal to enter the bootloader);
    return the port the bootloader then enumerates as.

    The board drops off USB and comes back with the bootloader's USB id, often under
    another name (``ttyACM0`` -> ``ttyACM1``): wait for that port rather than for the old
    name, which may still exist for a moment.
    """
    import serial

    before = {p.device for p in list_serial_ports() if (p.vid, p.pid) in bootloader_ids}
    try:
        with serial.Serial(port, 1200):
            pass
    except (serial.SerialException, OSError) as exc:
        raise KwsError(f"{port}: 1200-baud touch failed ({exc})") from None
    time.sleep(TOUCH_SETTLE_S)
    deadline = time.monotonic() + BOOTLOADER_PORT_WAIT_S
    while time.monotonic() < deadline:
        ports = [p for p in list_serial_ports() if (p.vid, p.pid) in bootloader_ids]
        fresh = [p.device for p in ports if p.device not in before] or [p.device for p in ports]
        if fresh:
            return fresh[0]
        time.sleep(_POLL_S)
    names = ", ".join(f"{v:04x}:{p:04x}" for v, p in bootloader_ids)
    raise KwsError(f"{port}: no bootloader port ({names}) appeared within "
                   f"{BOOTLOADER_PORT_WAIT_S:g} s of the 1200-baud touch; double-press the "
                   "board's reset button and pass the new port with --port")
