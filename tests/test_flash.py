"""`kws flash`: dry-run command lines for every tool, missing tools, port detection, and the
AN3155 serial bootloader client against a simulated STM32 on a real TCP socket."""

from __future__ import annotations

import shlex
import socket
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from kws.cli import main as kws_main
from kws.errors import KwsError
from kws.flash import PortInfo, detect_port, list_serial_ports, plan_flash, run_plan
from kws.flash_tools import find_bossac, tool_path
from kws.stm32_bootloader import (
    ACK,
    NACK,
    STM32F4_SECTOR_SIZES,
    address_bytes,
    flash_image,
    stm32f4_sectors,
    xor_checksum,
)

FLASH_BASE = 0x08000000
FLASH_SIZE = 1024 * 1024
BOSSAC = tool_path("bossac") or "bossac"  # Arduino's fork when this machine has it


# --- a simulated STM32F407 ROM bootloader (device side of AN3155) -------------------------


class SimulatedStm32(threading.Thread):
    """Answers AN3155 on a TCP socket like the STM32F4 ROM does, and records the flash.

    ``extended``: offer EXTENDED ERASE (0x44) rather than the legacy ERASE (0x43).
    ``corrupt_write``: flip one data bit of this WRITE MEMORY block on reception (a line
    error: the checksum no longer matches and the device must NACK).
    ``stuck_bit``: (offset, mask) of flash bits that never program (a bad cell).
    ``silent``: accept the connection but never answer.
    ``synchronised``: the ROM already locked onto the baud rate in an earlier session, so
    it takes the host's 0x7F as a command byte and waits for its complement.
    """

    def __init__(self, extended: bool = True, corrupt_write: int | None = None,
                 stuck_bit: tuple[int, int] | None = None, silent: bool = False,
                 synchronised: bool = False) -> None:
        super().__init__(daemon=True)
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(1)
        self.url = f"socket://127.0.0.1:{self.server.getsockname()[1]}"
        self.flash = bytearray(b"\x00" * FLASH_SIZE)  # programmed garbage until erased
        self.extended = extended
        self.corrupt_write = corrupt_write
        self.stuck_bit = stuck_bit
        self.silent = silent
        self.synchronised = synchronised
        self.erased: list[int] = []
        self.mass_erased = False
        self.writes = 0
        self.nacks: list[str] = []
        self.go_address: int | None = None
        self.error: BaseException | None = None

    # byte-level helpers
    def _recv(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _send(self, *values: int) -> None:
        self.conn.sendall(bytes(values))

    def _nack(self, why: str) -> None:
        self.nacks.append(why)
        self._send(NACK)

    def _address(self) -> int | None:
        raw = self._recv(5)
        if xor_checksum(raw[:4]) != raw[4]:
            self._nack("address checksum")
            return None
        address = int.from_bytes(raw[:4], "big")
        if not FLASH_BASE <= address < FLASH_BASE + FLASH_SIZE:
            self._nack("address outside flash")
            return None
        self._send(ACK)
        return address

    def _erase_sector(self, number: int) -> None:
        start = sum(STM32F4_SECTOR_SIZES[:number])
        self.flash[start:start + STM32F4_SECTOR_SIZES[number]] = b"\xff" * (
            STM32F4_SECTOR_SIZES[number])
        self.erased.append(number)

    def commands(self) -> list[int]:
        erase = 0x44 if self.extended else 0x43
        return [0x00, 0x01, 0x02, 0x11, 0x21, 0x31, erase, 0x63, 0x73, 0x82, 0x92]

    def run(self) -> None:
        try:
            self.conn, _ = self.server.accept()
            # Small request/answer exchanges: without this, Nagle + delayed ACK stall each.
            self.conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.conn:
                self._serve()
        except EOFError:
            pass
        except BaseException as exc:  # surfaced by the test through .error
            self.error = exc
        finally:
            self.server.close()

    def _serve(self) -> None:
        if self.silent:
            while self.conn.recv(64):
                pass
            return
        if not self.synchronised:
            while self._recv(1)[0] != 0x7F:
                pass
            self._send(ACK)
        while True:
            cmd, complement = self._recv(2)
            if cmd ^ complement != 0xFF or cmd not in self.commands():
                self._nack(f"command {cmd:#04x}")
                continue
            self._send(ACK)
            if cmd == 0x00:
                cmds = self.commands()
                self._send(len(cmds), 0x31, *cmds, ACK)
            elif cmd == 0x02:
                self._send(1, 0x04, 0x13, ACK)
            elif cmd == 0x11:
                address = self._address()
                if address is None:
                    continue
                n, n_complement = self._recv(2)
                if n ^ n_complement != 0xFF:
                    self._nack("read length")
                    continue
                self._send(ACK)
                off = address - FLASH_BASE
                self.conn.sendall(bytes(self.flash[off:off + n + 1]))
            elif cmd == 0x31:
                address = self._address()
                if address is None:
                    continue
                n = self._recv(1)[0] + 1
                data = bytearray(self._recv(n))
                checksum = self._recv(1)[0]
                if self.corrupt_write is not None and self.writes == self.corrupt_write:
                    data[n // 2] ^= 0x10
                self.writes += 1
                if xor_checksum(bytes([n - 1]) + bytes(data)) != checksum or n % 4:
                    self._nack("write block checksum")
                    continue
                off = address - FLASH_BASE
                for i, byte in enumerate(data):  # programming only clears bits
                    if self.stuck_bit and off + i == self.stuck_bit[0]:
                        byte |= self.stuck_bit[1]
                    self.flash[off + i] &= byte
                self._send(ACK)
            elif cmd == 0x44:
                head = self._recv(2)
                if head == b"\xff\xff":
                    if self._recv(1)[0] != 0x00:
                        self._nack("mass erase checksum")
                        continue
                    self.flash[:] = b"\xff" * FLASH_SIZE
                    self.mass_erased = True
                    self._send(ACK)
                    continue
                count = int.from_bytes(head, "big") + 1
                body = self._recv(2 * count)
                if xor_checksum(head + body) != self._recv(1)[0]:
                    self._nack("erase checksum")
                    continue
                for i in range(count):
                    self._erase_sector(int.from_bytes(body[2 * i:2 * i + 2], "big"))
                self._send(ACK)
            elif cmd == 0x43:
                count = self._recv(1)[0] + 1
                pages = self._recv(count)
                if xor_checksum(bytes([count - 1]) + pages) != self._recv(1)[0]:
                    self._nack("erase checksum")
                    continue
                for page in pages:
                    self._erase_sector(page)
                self._send(ACK)
            elif cmd == 0x21:
                address = self._address()
                if address is not None:
                    self.go_address = address
                    return  # the device now runs the application


@pytest.fixture
def image() -> bytes:
    # 70 000 bytes: sectors 0-3 (64 KiB) and the start of sector 4; not a multiple of 4.
    return np.random.default_rng(3).integers(0, 256, 70_001, dtype=np.uint8).tobytes()


def start(sim: SimulatedStm32) -> SimulatedStm32:
    sim.start()
    return sim


def test_checksums_and_sectors():
    assert address_bytes(0x08000000) == bytes([0x08, 0, 0, 0, 0x08])
    assert address_bytes(0x0800_1234) == bytes([0x08, 0x00, 0x12, 0x34, 0x08 ^ 0x12 ^ 0x34])
    assert xor_checksum(b"\xff\x00\xff") == 0x00
    assert stm32f4_sectors(FLASH_BASE, 1) == [0]
    assert stm32f4_sectors(FLASH_BASE, 64 * 1024) == [0, 1, 2, 3]
    assert stm32f4_sectors(FLASH_BASE, 128 * 1024 + 1) == [0, 1, 2, 3, 4, 5]
    assert stm32f4_sectors(FLASH_BASE + 0x20000, 10) == [5]
    assert stm32f4_sectors(FLASH_BASE, FLASH_SIZE) == list(range(12))
    for bad in [(FLASH_BASE - 4, 8), (FLASH_BASE, FLASH_SIZE + 1), (FLASH_BASE, 0)]:
        with pytest.raises(KwsError, match="does not fit"):
            stm32f4_sectors(*bad)


@pytest.mark.parametrize("extended", [True, False])
def test_an3155_writes_the_image(image, extended):
    sim = start(SimulatedStm32(extended=extended))
    info = flash_image(sim.url, image, progress=False, timeout=5.0)
    sim.join(10)
    assert sim.error is None and not sim.nacks
    assert info.product_id == 0x413 and info.version == 0x31
    assert info.product_name.startswith("STM32F405/407")
    assert (0x44 if extended else 0x43) in info.commands
    assert sim.erased == [0, 1, 2, 3, 4]  # only the sectors the image needs
    assert bytes(sim.flash[:len(image)]) == image
    # Padding of the last block is 0xFF (erased), and sector 5 was left alone.
    assert sim.flash[len(image):len(image) + 3] == b"\xff\xff\xff"
    assert sim.flash[0x20000:0x20010] == b"\x00" * 16
    assert sim.go_address == FLASH_BASE
    assert sim.writes == (len(image) + 255) // 256


def test_an3155_cli_end_to_end(tmp_path, image, capsys):
    firmware = tmp_path / "fw.bin"
    firmware.write_bytes(image)
    sim = start(SimulatedStm32())
    code = kws_main(["flash", str(firmware), "--board", "stm32f4-disco", "--tool", "serial",
                     "--port", sim.url])
    sim.join(10)
    assert code == 0 and sim.error is None
    assert bytes(sim.flash[:len(image)]) == image and sim.go_address == FLASH_BASE
    assert "AN3155" in capsys.readouterr().out


def test_an3155_line_error_is_reported(image):
    sim = start(SimulatedStm32(corrupt_write=3))
    with pytest.raises(KwsError, match=r"refused WRITE MEMORY of 256 bytes at 0x08000300"):
        flash_image(sim.url, image, progress=False, timeout=5.0)
    sim.join(10)
    assert sim.nacks == ["write block checksum"]


def test_an3155_verify_catches_a_bad_cell(image):
    sim = start(SimulatedStm32(stuck_bit=(1000, 0x01)))
    bad = bytearray(image)
    bad[1000] &= 0xFE  # a 0 the cell cannot store
    with pytest.raises(KwsError, match=r"verify failed at 0x080003e8"):
        flash_image(sim.url, bytes(bad), progress=False, timeout=5.0)
    sim.join(10)
    assert sim.go_address is None  # never started a corrupt image


def test_an3155_resyncs_a_rom_that_took_0x7f_as_a_command(image):
    sim = start(SimulatedStm32(synchronised=True))
    flash_image(sim.url, image, progress=False, timeout=0.5)
    sim.join(10)
    assert sim.error is None and sim.nacks == ["command 0x7f"]
    assert bytes(sim.flash[:len(image)]) == image and sim.go_address == FLASH_BASE


def test_an3155_silent_device(image):
    sim = start(SimulatedStm32(silent=True))
    with pytest.raises(KwsError, match="no answer from the STM32 bootloader.*BOOT0"):
        flash_image(sim.url, image, progress=False, timeout=0.3)


def test_an3155_refuses_empty_and_oversized(tmp_path):
    with pytest.raises(KwsError, match="empty"):
        flash_image("socket://127.0.0.1:9", b"", progress=False)
    with pytest.raises(KwsError, match="does not fit"):
        flash_image("socket://127.0.0.1:9", b"\0" * (FLASH_SIZE + 4), progress=False)


# --- dry runs --------------------------------------------------------------------------------


def write_elf(path: Path, load_address: int, machine: int = 40) -> Path:
    """A minimal ARM ELF32 with one loadable segment at ``load_address``."""
    header = bytearray(52)
    header[:7] = b"\x7fELF\x01\x01\x01"
    struct.pack_into("<HHIIIIIHHHHHH", header, 16, 2, machine, 1, load_address | 1, 52, 0, 0,
                     52, 32, 1, 40, 0, 0)
    segment = struct.pack("<IIIIIIII", 1, 84, load_address, load_address, 16, 16, 5, 4)
    path.write_bytes(bytes(header) + segment + bytes(range(16)))
    return path


def nano_bin(path: Path, sp: int = 0x2004_0000, reset: int = 0x0001_0199) -> Path:
    """A .bin whose vector table is an application's at 0x10000 (after the bootloader)."""
    path.write_bytes(struct.pack("<II", sp, reset) + b"\0" * 56)
    return path


def dry_run(capsys, *args: str) -> list[str]:
    assert kws_main(["flash", *args, "--dry-run"]) == 0
    return capsys.readouterr().out.strip().splitlines()


def test_dry_run_commands(tmp_path, capsys):
    elf = write_elf(tmp_path / "fw.elf", FLASH_BASE)
    bin_ = tmp_path / "fw.bin"
    objcopy = shlex.join(["arm-none-eabi-objcopy", "-O", "binary", str(elf), str(bin_)])
    board = ["--board", "stm32f4-disco"]
    assert dry_run(capsys, str(elf), *board) == [
        objcopy, f"st-flash --reset write {bin_} 0x8000000"]
    assert dry_run(capsys, str(elf), *board, "--tool", "openocd") == [
        "openocd -f interface/stlink.cfg -f target/stm32f4x.cfg -c "
        f"'program {{{elf}}} verify reset exit'"]
    assert dry_run(capsys, str(elf), *board, "--tool", "dfu-util") == [
        objcopy, f"dfu-util -d 0483:df11 -a 0 -s 0x08000000:leave -D {bin_}"]
    lines = dry_run(capsys, str(elf), *board, "--tool", "serial", "--port", "/dev/ttyUSB0")
    assert lines[0] == objcopy
    # 1200 baud by default: the Discovery's C49 on PA9 slows the ROM's TX edges.
    assert lines[1].startswith("# kws: STM32 ROM bootloader (AN3155) on /dev/ttyUSB0 at 1200")
    lines = dry_run(capsys, str(elf), *board, "--tool", "serial", "--port", "/dev/ttyUSB0",
                    "--baud", "115200")
    assert lines[1].startswith("# kws: STM32 ROM bootloader (AN3155) on /dev/ttyUSB0 at 115200")
    assert not bin_.exists()  # a dry run runs nothing
    nano = nano_bin(tmp_path / "sketch.bin")
    assert dry_run(capsys, str(nano), "--board", "nano33ble", "--port", "/dev/ttyACM0") == [
        "# kws: 1200-baud touch on /dev/ttyACM0 (resets the Nano into its bootloader; bossac "
        "then uses the port it comes back on)",
        f"{BOSSAC} -d --port=ttyACM0 -U -i -e -w {nano} -R"]


def test_openocd_path_with_spaces_stays_one_word(tmp_path, capsys):
    folder = tmp_path / "my firmware [v2]"
    folder.mkdir()
    elf = write_elf(folder / "fw.elf", FLASH_BASE)
    line = dry_run(capsys, str(elf), "--board", "stm32f4-disco", "--tool", "openocd")[0]
    assert shlex.split(line)[-1] == f"program {{{elf}}} verify reset exit"
    bin_ = folder / "fw.bin"
    bin_.write_bytes(b"\0" * 64)
    line = dry_run(capsys, str(bin_), "--board", "stm32f4-disco", "--tool", "openocd")[0]
    assert shlex.split(line)[-1] == f"program {{{bin_}}} 0x08000000 verify reset exit"


def test_nano_bin_must_be_linked_after_the_bootloader(tmp_path):
    at_zero = nano_bin(tmp_path / "at0.bin", reset=0x0000_0101)  # linked without bootloader
    with pytest.raises(KwsError, match=r"at0.bin: not an application for nano33ble at 0x10000"):
        plan_flash(at_zero, "nano33ble", port="/dev/ttyACM0", dry_run=True)
    stm32 = nano_bin(tmp_path / "stm32.bin", sp=0x1001_0000, reset=0x0800_0199)
    with pytest.raises(KwsError, match=r"reset vector 0x08000199, stack 0x10010000"):
        plan_flash(stm32, "nano33ble", port="/dev/ttyACM0", dry_run=True)
    with pytest.raises(KwsError, match="cannot hold a vector table"):
        (tmp_path / "tiny.bin").write_bytes(b"\0" * 4)
        plan_flash(tmp_path / "tiny.bin", "nano33ble", port="/dev/ttyACM0", dry_run=True)
    ok = plan_flash(nano_bin(tmp_path / "ok.bin"), "nano33ble", port="/dev/ttyACM0",
                    dry_run=True)
    assert ok.address == 0x10000 and ok.console.startswith("the Nano's own USB serial port")


def test_board_registry_describes_flashing(tmp_path):
    """The tool table lives in board.json: a board is described in one place."""
    from kws.boards import get_board
    from kws.flash import board_flash_settings

    nano = get_board("nano33ble")
    assert nano.package == "arduino-library"
    assert board_flash_settings("nano33ble")["tools"] == ["bossac"]
    disco = board_flash_settings("stm32f4-disco")
    assert disco["tools"][0] == "st-flash" and disco["serial_baud"] == 1200
    assert "USB-serial adapter on PA2" in get_board("stm32f4-disco").uart["port_hint"]
    from kws.firmware_project.build import build_project
    from kws.firmware_project.deploy import deploy

    # kws deploys the Nano as an Arduino library; its firmware is built by Arduino's tools.
    deploy(Path(__file__).parent / "fixtures" / "models" / "micro_speech_quantized.tflite",
           tmp_path / "KwsNano", "nano33ble", frontend="micro")
    with pytest.raises(KwsError, match="built by the Arduino IDE"):
        build_project(tmp_path / "KwsNano")


def test_dry_run_of_a_project_directory(tmp_path, capsys):
    (tmp_path / "build").mkdir()
    elf = write_elf(tmp_path / "build" / "firmware.elf", FLASH_BASE)
    write_elf(tmp_path / "build" / "bench.elf", FLASH_BASE)
    (tmp_path / "project.json").write_text('{"board": "stm32f4-disco"}')
    lines = dry_run(capsys, str(tmp_path), "--tool", "openocd")
    assert lines == ["openocd -f interface/stlink.cfg -f target/stm32f4x.cfg -c "
                     f"'program {{{elf}}} verify reset exit'"]


def test_dry_run_without_a_board_attached(tmp_path, capsys):
    nano = nano_bin(tmp_path / "sketch.bin")
    plan = plan_flash(nano, "nano33ble", dry_run=True, ports=[])
    assert plan.port == "PORT"
    assert "connect the board or pass --port" in plan.notes[0]
    run_plan(plan, dry_run=True)
    out = capsys.readouterr()
    assert out.out.strip().splitlines()[-1] == f"{BOSSAC} -d --port=PORT -U -i -e -w {nano} -R"
    assert "no serial port for bossac" in out.err
    with pytest.raises(KwsError, match="pass --port"):
        plan_flash(nano, "nano33ble", ports=[])  # a real run needs the board


def test_refuses_wrong_inputs(tmp_path):
    qemu_elf = write_elf(tmp_path / "qemu.elf", 0x0)
    with pytest.raises(KwsError, match=r"linked at 0x00000000.*--board stm32f4-disco"):
        plan_flash(qemu_elf, "stm32f4-disco", dry_run=True)
    x86 = write_elf(tmp_path / "x86.elf", FLASH_BASE, machine=62)
    with pytest.raises(KwsError, match="not ARM"):
        plan_flash(x86, "stm32f4-disco", dry_run=True)
    hexfile = tmp_path / "fw.hex"
    hexfile.write_text(":00000001FF\n")
    with pytest.raises(KwsError, match=r"fw.hex: cannot flash a .hex file"):
        plan_flash(hexfile, "stm32f4-disco", dry_run=True)
    with pytest.raises(KwsError, match="no such firmware"):
        plan_flash(tmp_path / "missing", "stm32f4-disco", dry_run=True)
    (tmp_path / "empty").mkdir()
    with pytest.raises(KwsError, match="no .elf or .bin"):
        plan_flash(tmp_path / "empty", "stm32f4-disco", dry_run=True)
    with pytest.raises(KwsError, match="bossac cannot flash stm32f4-disco"):
        plan_flash(qemu_elf, "stm32f4-disco", "bossac", dry_run=True)
    with pytest.raises(KwsError, match="nothing to flash"):
        plan_flash(qemu_elf, "qemu-mps2-an386", dry_run=True)
    with pytest.raises(KwsError, match="unknown board"):
        plan_flash(qemu_elf, "no-such-board", dry_run=True)
    with pytest.raises(KwsError, match="pass --board"):
        plan_flash(qemu_elf, None, dry_run=True)


@pytest.mark.parametrize("tool, package", [("st-flash", "stlink-tools"),
                                           ("openocd", "openocd"),
                                           ("dfu-util", "dfu-util"),
                                           ("bossac", None)])
def test_missing_tool_names_the_debian_package(tmp_path, monkeypatch, capsys, tool, package):
    firmware = nano_bin(tmp_path / "fw.bin")
    board = "nano33ble" if tool == "bossac" else "stm32f4-disco"
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools-here"))
    monkeypatch.setenv("HOME", str(tmp_path / "no-arduino-here"))
    monkeypatch.delenv("ARDUINO_DIRECTORIES_DATA", raising=False)
    args = ["flash", str(firmware), "--board", board, "--tool", tool, "--port", "/dev/null"]
    assert kws_main(args) == 2
    err = capsys.readouterr().err
    if package is None:  # the Nano needs Arduino's fork, not Debian's bossa-cli
        assert "bossac (Arduino's fork) not found: install Arduino's fork (arduino:bossac)" in err
        assert "arduino-cli core install arduino:mbed_nano" in err
        assert "~/.arduino15/packages/arduino/tools/bossac/<version>/bossac" in err
    else:
        assert f"{tool} not found on PATH: install it with `sudo apt-get install {package}`" in err
    # The dry run of the same command needs no tool.
    assert kws_main([*args, "--dry-run"]) == 0


def test_port_detection():
    nano = PortInfo("/dev/ttyACM3", 0x2341, 0x805A, "Nano 33 BLE")
    ftdi = PortInfo("/dev/ttyUSB1", 0x0403, 0x6001, "FT232R")
    stlink = PortInfo("/dev/ttyACM0", 0x0483, 0x374B, "STM32 STLink")
    assert detect_port("nano33ble", "bossac", [stlink, nano, ftdi]) == "/dev/ttyACM3"
    assert detect_port("stm32f4-disco", "serial", [stlink, nano, ftdi]) == "/dev/ttyUSB1"
    with pytest.raises(KwsError, match=r"ST-LINK virtual COM port cannot reach the ROM"):
        detect_port("stm32f4-disco", "serial", [stlink])
    with pytest.raises(KwsError, match=r"several candidate ports.*ttyACM3.*ttyACM4"):
        detect_port("nano33ble", "bossac",
                    [nano, PortInfo("/dev/ttyACM4", 0x2341, 0x005A)])
    with pytest.raises(KwsError, match=r"ports present: none"):
        detect_port("nano33ble", "bossac", [])


def test_port_detection_on_this_machine():
    """pyserial's real port list; with no Nano attached the error is clear, not a crash."""
    ports = list_serial_ports()
    assert all(isinstance(p.device, str) for p in ports)
    if any((p.vid, p.pid) in {(0x2341, 0x805A), (0x2341, 0x005A)} for p in ports):
        pytest.skip("a Nano 33 BLE is attached to this machine")
    with pytest.raises(KwsError, match="connect the board or pass --port"):
        detect_port("nano33ble", "bossac")


def test_arduino_bossac_fork_is_found_where_arduino_cli_installs_it(tmp_path, monkeypatch):
    data = tmp_path / "arduino-data"
    tools = data / "packages" / "arduino" / "tools" / "bossac"
    for version in ("1.9.1-arduino2", "1.9.1-arduino5", "1.7.0-arduino3"):
        exe = tools / version / "bossac"
        exe.parent.mkdir(parents=True)
        exe.write_text("#!/bin/sh\nexit 0\n")
        exe.chmod(0o755)
    monkeypatch.setenv("ARDUINO_DIRECTORIES_DATA", str(data))
    assert find_bossac() == str(tools / "1.9.1-arduino5" / "bossac")
    # Upstream BOSSA on PATH (Debian's bossa-cli) is not the fork: not used.
    monkeypatch.setenv("ARDUINO_DIRECTORIES_DATA", str(tmp_path / "none"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    upstream = bin_dir / "bossac"
    upstream.write_text("#!/bin/sh\necho 'Basic Open Source SAM-BA Application (BOSSA) "
                        "Version 1.9.1'\n")
    upstream.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert find_bossac() is None
    upstream.write_text("#!/bin/sh\necho 'Basic Open Source SAM-BA Application (BOSSA) "
                        "Version 1.9.1-arduino2'\n")
    assert find_bossac() == str(upstream)


def test_1200_baud_touch_waits_for_the_bootloader_port(monkeypatch):
    """The touch opens the real port (a pty) at 1200 baud, then waits until the bootloader
    re-enumerates, under a new name, rather than reusing the old one."""
    import os

    from kws import flash_tools

    main_fd, sub_fd = os.openpty()
    app_port = os.ttyname(sub_fd)
    bootloader = {(0x2341, 0x005A): "Nano 33 BLE bootloader"}
    listings = iter([
        [PortInfo(app_port, 0x2341, 0x805A)],                  # before the touch
        [PortInfo(app_port, 0x2341, 0x805A)],                  # still the application
        [],                                                    # off the bus
        [PortInfo("/dev/ttyACM7", 0x2341, 0x005A)],            # the bootloader
    ])
    monkeypatch.setattr(flash_tools, "list_serial_ports", lambda: next(listings))
    monkeypatch.setattr(flash_tools, "TOUCH_SETTLE_S", 0.0)
    try:
        assert flash_tools.touch_1200(app_port, bootloader) == "/dev/ttyACM7"
        monkeypatch.setattr(flash_tools, "list_serial_ports", lambda: [])
        monkeypatch.setattr(flash_tools, "BOOTLOADER_PORT_WAIT_S", 0.3)
        with pytest.raises(KwsError, match="no bootloader port .2341:005a. appeared"):
            flash_tools.touch_1200(app_port, bootloader)
    finally:
        os.close(main_fd)
        os.close(sub_fd)
