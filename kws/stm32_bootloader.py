"""A client for the STM32 ROM USART bootloader (ST application note AN3155) on pyserial.

The bootloader runs when the part resets with BOOT0 high.  The link is 8 data bits, even
parity, 1 stop bit; the host sends ``0x7F`` once so the ROM can measure the baud rate.
Every command is the command byte followed by its complement; the device answers ACK
(``0x79``) or NACK (``0x1F``).  Addresses go most significant byte first followed by the XOR
of their four bytes; data blocks go as ``N - 1``, the ``N`` bytes and the XOR of all of them.

Commands used here: GET (0x00: version and command list), GET ID (0x02), READ MEMORY
(0x11), GO (0x21), WRITE MEMORY (0x31, up to 256 bytes a block), ERASE (0x43, the legacy
one-byte form) and EXTENDED ERASE (0x44, two-byte sector numbers; what the STM32F4 ROM
offers).  :func:`flash_image` erases the sectors an image needs, writes it in 256-byte
blocks, reads it back to verify, and jumps to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kws.errors import KwsError

SYNC = 0x7F
ACK = 0x79
NACK = 0x1F

CMD_GET = 0x00
CMD_GET_VERSION = 0x01
CMD_GET_ID = 0x02
CMD_READ_MEMORY = 0x11
CMD_GO = 0x21
CMD_WRITE_MEMORY = 0x31
CMD_ERASE = 0x43
CMD_EXTENDED_ERASE = 0x44

COMMAND_NAMES = {
    CMD_GET: "GET",
    CMD_GET_VERSION: "GET VERSION",
    CMD_GET_ID: "GET ID",
    CMD_READ_MEMORY: "READ MEMORY",
    CMD_GO: "GO",
    CMD_WRITE_MEMORY: "WRITE MEMORY",
    CMD_ERASE: "ERASE",
    CMD_EXTENDED_ERASE: "EXTENDED ERASE",
}

BLOCK_SIZE = 256
FLASH_BASE = 0x08000000
# STM32F40x/41x (RM0090 table 5): sectors 0-3 of 16 KiB, 4 of 64 KiB, 5-11 of 128 KiB.
STM32F4_SECTOR_SIZES = (16 * 1024,) * 4 + (64 * 1024,) + (128 * 1024,) * 7
# Product IDs (GET ID) this module knows by name.
PRODUCT_NAMES = {
    0x413: "STM32F405/407/415/417",
    0x419: "STM32F42x/43x",
    0x431: "STM32F411",
    0x423: "STM32F401xB/C",
    0x433: "STM32F401xD/E",
}
# Sector erase can take 2 s per 128 KiB sector and mass erase tens of seconds.
ERASE_TIMEOUT_S = 60.0


class SerialLike(Protocol):
    """The part of ``serial.Serial`` this module uses."""

    timeout: float | None

    def write(self, data: bytes) -> int | None: ...

    def read(self, size: int = 1) -> bytes: ...

    def reset_input_buffer(self) -> None: ...


def xor_checksum(data: bytes | Sequence[int]) -> int:
    """XOR of all bytes (AN3155's checksum)."""
    out = 0
    for b in data:
        out ^= b
    return out


def address_bytes(address: int) -> bytes:
    """Four address bytes, most significant first, followed by their XOR checksum."""
    if not 0 <= address <= 0xFFFFFFFF:
        raise KwsError(f"address {address:#x} does not fit in 32 bits")
    raw = address.to_bytes(4, "big")
    return raw + bytes([xor_checksum(raw)])


def stm32f4_sectors(address: int, size: int, base: int = FLASH_BASE) -> list[int]:
    """Sector numbers an image of ``size`` bytes at ``address`` touches (STM32F40x layout).

    Raises
    ------
    KwsError
        When the image starts before the flash or runs past its 1 MiB.
    """
    total = sum(STM32F4_SECTOR_SIZES)
    start, end = address - base, address - base + size
    if start < 0 or end > total or size <= 0:
        raise KwsError(
            f"image of {size} bytes at {address:#010x} does not fit the STM32F4 flash "
            f"({base:#010x}..{base + total:#010x})"
        )
    sectors = []
    offset = 0
    for number, length in enumerate(STM32F4_SECTOR_SIZES):
        if offset < end and start < offset + length:
            sectors.append(number)
        offset += length
    return sectors


@dataclass(frozen=True)
class BootloaderInfo:
    """What GET and GET ID reported."""

    version: int  # e.g. 0x31 for protocol v3.1
    commands: tuple[int, ...]
    product_id: int

    @property
    def product_name(self) -> str:
        return PRODUCT_NAMES.get(self.product_id, f"unknown product {self.product_id:#05x}")


class Stm32Bootloader:
    """One conversation with the ROM bootloader over an open serial port.

    Parameters
    ----------
    port
        An open ``serial.Serial`` (8E1) or anything with ``read``/``write``/``timeout``.
    name
        Port name for error messages.
    """

    def __init__(self, port: SerialLike, name: str = "serial port") -> None:
        self.port = port
        self.name = name
        self.commands: tuple[int, ...] = ()

    # -- framing ----------------------------------------------------------------------
    def _read_exact(self, n: int, what: str) -> bytes:
        data = self.port.read(n)
        if len(data) != n:
            raise KwsError(
                f"{self.name}: no answer from the STM32 bootloader while waiting for {what} "
                f"(got {len(data)} of {n} bytes); is BOOT0 high and was the board reset?"
            )
        return data

    def _wait_ack(self, what: str) -> None:
        reply = self._read_exact(1, what)[0]
        if reply == ACK:
            return
        if reply == NACK:
            raise KwsError(f"{self.name}: the STM32 bootloader refused {what} (NACK)")
        raise KwsError(
            f"{self.name}: unexpected byte {reply:#04x} from the bootloader after {what}"
        )

    def _command(self, code: int) -> None:
        self.port.write(bytes([code, code ^ 0xFF]))
        self._wait_ack(f"command {COMMAND_NAMES.get(code, hex(code))}")

    def _require(self, code: int) -> None:
        if self.commands and code not in self.commands:
            raise KwsError(
                f"{self.name}: this bootloader does not offer {COMMAND_NAMES.get(code, hex(code))}"
            )

    # -- commands ---------------------------------------------------------------------
    def connect(self) -> None:
        """Send ``0x7F`` so the ROM locks onto the baud rate; expect ACK.

        A ROM that an earlier session already synchronised takes that ``0x7F`` as a command
        byte and waits, silent, for its complement: when no answer comes, a second ``0x7F``
        completes the pair, which the ROM refuses (NACK) and is then ready for commands
        (the same byte also retries the autobaud of a ROM that missed the first).  A NACK
        right away means the ROM was synchronised and between commands; both are fine.
        """
        self.port.reset_input_buffer()
        for _ in range(2):
            self.port.write(bytes([SYNC]))
            reply = self.port.read(1)
            if not reply:
                continue
            if reply[0] not in (ACK, NACK):
                raise KwsError(
                    f"{self.name}: unexpected byte {reply[0]:#04x} after 0x7F: is the line 8E1 "
                    "and is this an STM32 in its ROM bootloader?"
                )
            return
        raise KwsError(
            f"{self.name}: no answer from the STM32 bootloader while waiting for the 0x7F "
            "synchronisation reply (sent twice); is BOOT0 high and was the board reset?"
        )

    def get(self) -> tuple[int, tuple[int, ...]]:
        """GET: (bootloader version, supported command codes)."""
        self._command(CMD_GET)
        count = self._read_exact(1, "the GET length")[0] + 1
        payload = self._read_exact(count, "the GET reply")
        self._wait_ack("the end of GET")
        self.commands = tuple(payload[1:])
        return payload[0], self.commands

    def get_id(self) -> int:
        """GET ID: the product ID (0x413 for the STM32F405/407)."""
        self._command(CMD_GET_ID)
        count = self._read_exact(1, "the GET ID length")[0] + 1
        payload = self._read_exact(count, "the GET ID reply")
        self._wait_ack("the end of GET ID")
        return int.from_bytes(payload, "big")

    def read_memory(self, address: int, n: int) -> bytes:
        """READ MEMORY: ``n`` (1..256) bytes from ``address``."""
        if not 1 <= n <= BLOCK_SIZE:
            raise KwsError(f"READ MEMORY reads 1..{BLOCK_SIZE} bytes, not {n}")
        self._require(CMD_READ_MEMORY)
        self._command(CMD_READ_MEMORY)
        self.port.write(address_bytes(address))
        self._wait_ack(f"READ MEMORY address {address:#010x} (read protection on?)")
        self.port.write(bytes([n - 1, (n - 1) ^ 0xFF]))
        self._wait_ack("the READ MEMORY length")
        return self._read_exact(n, f"{n} bytes from {address:#010x}")

    def write_memory(self, address: int, data: bytes) -> None:
        """WRITE MEMORY: one block of up to 256 bytes, padded with 0xFF to a multiple of 4."""
        if not 1 <= len(data) <= BLOCK_SIZE:
            raise KwsError(f"WRITE MEMORY writes 1..{BLOCK_SIZE} bytes, not {len(data)}")
        if address % 4:
            raise KwsError(f"WRITE MEMORY address {address:#010x} is not 4-byte aligned")
        block = bytes(data) + b"\xff" * (-len(data) % 4)
        self._require(CMD_WRITE_MEMORY)
        self._command(CMD_WRITE_MEMORY)
        self.port.write(address_bytes(address))
        self._wait_ack(f"WRITE MEMORY address {address:#010x} (write protection on?)")
        frame = bytes([len(block) - 1]) + block
        self.port.write(frame + bytes([xor_checksum(frame)]))
        self._wait_ack(f"WRITE MEMORY of {len(block)} bytes at {address:#010x}")

    def erase(self, sectors: Sequence[int] | None) -> None:
        """Erase ``sectors`` (``None``: the whole flash).

        Uses EXTENDED ERASE (0x44) when the bootloader lists it, else the legacy ERASE
        (0x43).  Erasing is slow, so the read timeout is raised for the final ACK.
        """
        extended = CMD_EXTENDED_ERASE in self.commands or not self.commands
        if extended:
            self._command(CMD_EXTENDED_ERASE)
            if sectors is None:
                frame = b"\xff\xff"  # special code: mass erase
            else:
                if not sectors:
                    raise KwsError("nothing to erase: empty sector list")
                frame = (len(sectors) - 1).to_bytes(2, "big") + b"".join(
                    int(s).to_bytes(2, "big") for s in sectors
                )
        else:
            self._require(CMD_ERASE)
            self._command(CMD_ERASE)
            if sectors is None:
                self.port.write(b"\xff\x00")  # global erase
                self._with_timeout(ERASE_TIMEOUT_S, lambda: self._wait_ack("global ERASE"))
                return
            if not 1 <= len(sectors) <= 255 or any(not 0 <= s <= 255 for s in sectors):
                raise KwsError(f"legacy ERASE takes 1..255 page numbers below 256: {sectors}")
            frame = bytes([len(sectors) - 1, *sectors])
        self.port.write(frame + bytes([xor_checksum(frame)]))
        what = "mass erase" if sectors is None else f"erase of sectors {list(sectors)}"
        self._with_timeout(ERASE_TIMEOUT_S, lambda: self._wait_ack(what))

    def go(self, address: int) -> None:
        """GO: jump to the application whose vector table is at ``address``."""
        self._require(CMD_GO)
        self._command(CMD_GO)
        self.port.write(address_bytes(address))
        self._wait_ack(f"GO {address:#010x}")

    def _with_timeout(self, seconds: float, action: Callable[[], None]) -> None:
        old = self.port.timeout
        self.port.timeout = max(seconds, old or 0.0)
        try:
            action()
        finally:
            self.port.timeout = old


def open_port(url: str, baud: int = 115200, timeout: float = 1.0) -> Any:
    """Open ``url`` (a device path or any pyserial URL, e.g. ``socket://host:port``) as 8E1."""
    import serial

    try:
        return serial.serial_for_url(
            url, baudrate=baud, bytesize=serial.EIGHTBITS, parity=serial.PARITY_EVEN,
            stopbits=serial.STOPBITS_ONE, timeout=timeout,
        )
    except (serial.SerialException, ValueError, OSError) as exc:
        raise KwsError(f"cannot open {url} for the STM32 bootloader: {exc}") from None


def flash_image(
    url: str,
    image: bytes,
    address: int = FLASH_BASE,
    *,
    baud: int = 115200,
    timeout: float = 1.0,
    verify: bool = True,
    start: bool = True,
    progress: bool = True,
) -> BootloaderInfo:
    """Write ``image`` through the ROM bootloader on ``url`` and (by default) run it.

    Steps: synchronise, GET and GET ID, erase the STM32F4 sectors the image covers, WRITE
    MEMORY in 256-byte blocks, READ MEMORY every block back and compare, GO ``address``.

    Returns
    -------
    BootloaderInfo
        Bootloader version, command list and product ID.

    Raises
    ------
    KwsError
        No answer, a NACK, a read-back mismatch, or an image that does not fit.
    """
    if not image:
        raise KwsError("refusing to flash an empty image")
    sectors = stm32f4_sectors(address, len(image))
    port = open_port(url, baud, timeout)
    started = time.monotonic()
    try:
        loader = Stm32Bootloader(port, url)
        loader.connect()
        version, commands = loader.get()
        info = BootloaderInfo(version, commands, loader.get_id())
        loader.erase(sectors)
        blocks = range(0, len(image), BLOCK_SIZE)
        _run_blocks(
            "writing", blocks, progress,
            lambda off: loader.write_memory(address + off, image[off:off + BLOCK_SIZE]),
        )
        if verify:
            def check(off: int) -> None:
                want = image[off:off + BLOCK_SIZE]
                got = loader.read_memory(address + off, len(want))
                if got != want:
                    bad = next(i for i, (a, b) in enumerate(zip(got, want, strict=True))
                               if a != b)
                    raise KwsError(
                        f"{url}: verify failed at {address + off + bad:#010x}: wrote "
                        f"{want[bad]:#04x}, read back {got[bad]:#04x}"
                    )

            _run_blocks("verifying", blocks, progress, check)
        if start:
            loader.go(address)
    finally:
        port.close()
    if progress:
        from rich.console import Console

        Console(stderr=True).print(
            f"flashed {len(image)} bytes to {info.product_name} at {address:#010x} "
            f"in {time.monotonic() - started:.1f} s"
        )
    return info


def _run_blocks(
    label: str, blocks: range, show: bool, action: Callable[[int], None]
) -> None:
    if not show:
        for off in blocks:
            action(off)
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(), transient=True, console=Console(stderr=True),
    ) as bar:
        task = bar.add_task(label, total=len(blocks))
        for off in blocks:
            action(off)
            bar.advance(task)
