"""Run firmware on QEMU's emulated Cortex-M4F board (``mps2-an386``).

The program's two channels come back separately: semihosting text (``board_log``, fault
reports) goes to a file chardev, and UART0 (``board_uart_*``) to a Unix socket on which
this module listens and QEMU connects as a client before the CPU starts, so no byte is lost
and no TCP port has to be found.  Input bytes are fed to the UART from a thread while the
output is collected; QEMU applies back-pressure, so firmware may read as slowly as it likes.
The exit status is what the firmware passed to ``board_exit`` (semihosting
SYS_EXIT_EXTENDED).
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from kws.errors import KwsError
from kws.firmware_project.toolchain import qemu_system_arm

DEFAULT_MACHINE = "mps2-an386"
_CONNECT_POLL_S = 0.05


class QemuResult(NamedTuple):
    """Outcome of one emulator run; unpacks as ``(exit_code, stdout, uart)``."""

    exit_code: int
    stdout: str  # semihosting output (SYS_WRITE0), decoded as UTF-8 with replacement
    uart: bytes  # everything the firmware sent over UART0


class QemuTimeout(KwsError):
    """The firmware did not exit in time; QEMU was killed.  Partial output is attached."""

    def __init__(self, message: str, stdout: str, uart: bytes) -> None:
        super().__init__(message)
        self.stdout = stdout
        self.uart = uart


def qemu_command(
    elf: str | os.PathLike,
    semihosting_path: str | os.PathLike,
    uart_socket: str | os.PathLike,
    icount: int | None = None,
    machine: str = DEFAULT_MACHINE,
    serial_index: int = 0,
    uart_tcp_port: int | None = None,
) -> list[str]:
    """The ``qemu-system-arm`` command line used by :func:`run_qemu` and
    :func:`start_qemu_tcp`.

    ``serial_index`` is the console UART's place among the machine's serial ports (the
    netduinoplus2's USART2 is its second): the ports before it are left unconnected.
    With ``uart_tcp_port`` the UART is a TCP server on 127.0.0.1 instead of a client of
    ``uart_socket``; QEMU waits for the first client before the CPU starts.
    """
    uart = (f"socket,id=uart0,host=127.0.0.1,port={uart_tcp_port},server=on,wait=on"
            if uart_tcp_port is not None else f"socket,id=uart0,path={uart_socket}")
    cmd = [
        qemu_system_arm(),
        "-M",
        machine,
        "-nographic",
        "-monitor",
        "none",
        "-semihosting-config",
        "enable=on,target=native,chardev=semihosting",
        "-chardev",
        f"file,id=semihosting,path={semihosting_path}",
        "-chardev",
        uart,
        *["-serial", "null"] * serial_index,
        "-serial",
        "chardev:uart0",
        "-kernel",
        str(elf),
    ]
    if icount is not None:
        cmd[1:1] = ["-icount", f"shift={int(icount)}"]
    return cmd


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - kill cannot be refused
        pass


def run_qemu(
    elf: str | os.PathLike,
    timeout: float = 60.0,
    uart_input: bytes | None = None,
    *,
    icount: int | None = None,
    machine: str = DEFAULT_MACHINE,
    serial_index: int = 0,
    input_after_output: bool = False,
) -> QemuResult:
    """Run ``elf`` under QEMU until it exits.

    Parameters
    ----------
    elf
        A firmware image built for ``machine`` (see
        :func:`kws.firmware_project.toolchain.build_elf`).
    timeout
        Wall-clock seconds before QEMU is killed and :class:`QemuTimeout` is raised.
    uart_input
        Bytes delivered to UART0's receiver (the firmware's ``board_uart_read``).
    icount
        ``-icount shift=N``: deterministic virtual time, so SysTick counts instructions
        (``shift=0``: one instruction per ns, ``BOARD_INSTRUCTIONS_PER_TICK`` per tick).
        Several times slower; leave ``None`` unless you measure.
    machine
        QEMU machine name.
    serial_index
        Which of the machine's serial ports is the firmware's UART (0: the first).
    input_after_output
        Hold ``uart_input`` back until the firmware has sent its first byte, as a host on a
        real serial line waits for the device to boot: QEMU's STM32 USART drops bytes that
        arrive before the firmware enables its receiver.

    Returns
    -------
    QemuResult
        ``(exit_code, semihosting stdout text, UART output bytes)``.

    Raises
    ------
    KwsError
        ELF missing, QEMU missing or failing to start; :class:`QemuTimeout` on timeout.
    """
    elf_path = Path(elf)
    if not elf_path.is_file():
        raise KwsError(f"{elf_path}: no such firmware ELF")
    with tempfile.TemporaryDirectory(prefix="kws-qemu-") as tmp:
        run = _Run(elf_path, Path(tmp), timeout, time.monotonic() + timeout)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(run.uart_socket))
        listener.listen(1)
        listener.settimeout(_CONNECT_POLL_S)
        cmd = qemu_command(elf_path, run.semihosting, run.uart_socket, icount, machine,
                           serial_index)
        # QEMU's own messages go to a file: a pipe nobody drains could stall the emulator.
        log_file = open(run.log, "wb")  # closed in the finally below
        try:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT
            )
        except OSError as exc:
            log_file.close()
            listener.close()
            raise KwsError(f"{elf_path}: cannot start qemu-system-arm: {exc}") from None
        conn: socket.socket | None = None
        try:
            conn = _accept_uart(run, listener, proc)
            return _exchange(run, proc, conn, uart_input, input_after_output)
        finally:
            _kill(proc)
            log_file.close()
            if conn is not None:
                conn.close()
            listener.close()


@dataclass(frozen=True)
class _Run:
    """One emulator run: the firmware, its scratch directory and its deadline."""

    elf: Path
    tmp: Path
    timeout: float
    deadline: float

    @property
    def semihosting(self) -> Path:
        return self.tmp / "semihosting.txt"

    @property
    def uart_socket(self) -> Path:
        return self.tmp / "uart0.sock"

    @property
    def log(self) -> Path:
        return self.tmp / "qemu.log"


def _accept_uart(run: _Run, listener: socket.socket, proc: subprocess.Popen) -> socket.socket:
    """QEMU's connection to the UART socket, made while it sets up the machine."""
    while True:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            if proc.poll() is not None:
                raise KwsError(
                    f"{run.elf}: qemu-system-arm exited with status {proc.returncode} "
                    f"before starting: {_read_text(run.log).strip()}"
                ) from None
            if time.monotonic() > run.deadline:
                raise QemuTimeout(
                    f"{run.elf}: qemu-system-arm did not start within {run.timeout:g} s", "", b""
                ) from None
            continue
        conn.settimeout(None)
        return conn


def _exchange(run: _Run, proc: subprocess.Popen, conn: socket.socket,
              uart_input: bytes | None, input_after_output: bool) -> QemuResult:
    """Feed ``uart_input`` (with ``input_after_output``, once the firmware has sent its
    first byte), collect the UART output until QEMU exits (or the deadline)."""
    uart_chunks: list[bytes] = []
    booted = threading.Event()
    if not input_after_output:
        booted.set()
    reader = threading.Thread(target=_read_all, args=(conn, uart_chunks, booted), daemon=True)
    reader.start()
    if uart_input:
        threading.Thread(target=_send_all, args=(conn, bytes(uart_input), booted, run.deadline),
                         daemon=True).start()
    try:
        proc.wait(timeout=max(0.0, run.deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        _kill(proc)
        reader.join(timeout=1.0)
        raise QemuTimeout(
            f"{run.elf}: firmware did not exit within {run.timeout:g} s (QEMU killed)",
            _read_text(run.semihosting),
            b"".join(uart_chunks),
        ) from None
    # QEMU closed its end of the socket on exit: the reader drains and stops.
    reader.join(timeout=5.0)
    stdout = _read_text(run.semihosting)
    if not run.semihosting.exists() and proc.returncode != 0:
        raise KwsError(f"{run.elf}: qemu-system-arm failed: {_read_text(run.log).strip()}")
    return QemuResult(proc.returncode, stdout, b"".join(uart_chunks))


def _read_all(conn: socket.socket, chunks: list[bytes], first_byte: threading.Event) -> None:
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            chunks.append(data)
            first_byte.set()
    except OSError:
        return


def _send_all(conn: socket.socket, data: bytes, start: threading.Event, deadline: float
              ) -> None:
    if not start.wait(timeout=max(0.0, deadline - time.monotonic())):
        return  # the firmware never spoke; the caller's timeout reports it
    try:
        conn.sendall(data)
    except OSError:
        return  # firmware exited before reading everything


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def free_tcp_port() -> int:
    """A local TCP port nobody listens on now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class QemuSession:
    """QEMU running ``elf`` with its UART on a local TCP port, for a client to drive.

    Talk to it through pyserial's ``socket://`` URL (:attr:`url`), the same code path as a
    board on a USB cable.  QEMU waits for that client before the CPU starts, so the boot
    INFO is not lost.  :meth:`stop` (or leaving the ``with`` block) kills the emulator.
    ``port``: the TCP port (default: a free one); an emulator restarted on the port of a
    stopped one looks, to a client, like a board plugged in again.
    """

    def __init__(self, elf: str | os.PathLike, *, machine: str = DEFAULT_MACHINE,
                 serial_index: int = 0, port: int | None = None,
                 start_timeout: float = 20.0) -> None:
        self.elf = Path(elf)
        if not self.elf.is_file():
            raise KwsError(f"{self.elf}: no such firmware ELF")
        self._tmp = tempfile.TemporaryDirectory(prefix="kws-qemu-")
        tmp = Path(self._tmp.name)
        self.semihosting, self.log = tmp / "semihosting.txt", tmp / "qemu.log"
        self.port = free_tcp_port() if port is None else int(port)
        cmd = qemu_command(self.elf, self.semihosting, "", machine=machine,
                           serial_index=serial_index, uart_tcp_port=self.port)
        with open(self.log, "wb") as log_file:
            try:
                self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log_file,
                                             stderr=subprocess.STDOUT)
            except OSError as exc:
                self._tmp.cleanup()
                raise KwsError(f"{self.elf}: cannot start qemu-system-arm: {exc}") from None
        try:
            self._wait_listening(time.monotonic() + start_timeout)
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:
        """The pyserial URL of the emulated UART."""
        return f"socket://127.0.0.1:{self.port}"

    def _wait_listening(self, deadline: float) -> None:
        # Probing with a connect would use up QEMU's wait for its one client: a bind that
        # fails once QEMU holds the port says it listens.
        while True:
            if self.proc.poll() is not None:
                raise KwsError(f"{self.elf}: qemu-system-arm exited with status "
                               f"{self.proc.returncode}: {_read_text(self.log).strip()}")
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                try:
                    probe.bind(("127.0.0.1", self.port))
                except OSError:
                    return
            if time.monotonic() > deadline:
                raise KwsError(f"{self.elf}: qemu-system-arm did not open its UART port")
            time.sleep(_CONNECT_POLL_S)

    def stop(self) -> int | None:
        """Kill the emulator (if running); its exit status."""
        _kill(self.proc)
        self._tmp.cleanup()
        return self.proc.returncode

    def __enter__(self) -> QemuSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
