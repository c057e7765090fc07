"""A private PulseAudio server with a null sink, so tests record through real PortAudio.

``pulseaudio`` runs with its own ``XDG_RUNTIME_DIR`` (nothing shared with a desktop
session), one null sink ``kwstest`` and the native protocol on a unix socket.  Tests play
WAVs into the sink with ``paplay`` and the command under test records the sink's monitor
through sounddevice's ``pulse`` ALSA device (``PULSE_SOURCE=kwstest.monitor``).  The server
is stopped by its pid.

Without ``pulseaudio`` the tests skip, except under CI (``CI`` set), where the Makefile
installs it and a missing server is a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SINK = "kwstest"
# ALSA device (libasound2-plugins) that PortAudio lists and that talks to the server.
DEVICE = "pulse"


class PulseServer:
    """A running server: ``env`` reaches it, ``play`` feeds its sink."""

    def __init__(self, runtime_dir: Path, pid: int) -> None:
        self.runtime_dir = runtime_dir
        self.pid = pid
        self.env = {
            **os.environ,
            "XDG_RUNTIME_DIR": str(runtime_dir),
            "PULSE_SERVER": f"unix:{runtime_dir / 'pulse' / 'native'}",
            "PULSE_SOURCE": f"{SINK}.monitor",
            "PULSE_SINK": SINK,
            "PYTHONUNBUFFERED": "1",
        }

    def play(self, wav: Path) -> None:
        """Play ``wav`` into the sink; returns when it has been played."""
        subprocess.run(["paplay", f"--device={SINK}", str(wav)], env=self.env, check=True,
                       timeout=60, capture_output=True)

    def play_async(self, wav: Path) -> subprocess.Popen[bytes]:
        """Start playing ``wav`` into the sink."""
        return subprocess.Popen(["paplay", f"--device={SINK}", str(wav)], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        """Stop this server (only this one: by its pid) and remove its runtime folder."""
        try:
            os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and _alive(self.pid):
                time.sleep(0.05)
            if _alive(self.pid):
                os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        shutil.rmtree(self.runtime_dir, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it has stopped all the same.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (OSError, IndexError):
        return True


def missing_pulse() -> None:
    """Skip the test without pulseaudio/paplay, or fail it under CI."""
    missing = [t for t in ("pulseaudio", "paplay", "pactl") if shutil.which(t) is None]
    if missing:
        reason = (f"{', '.join(missing)} not installed (Debian: pulseaudio pulseaudio-utils "
                  "libasound2-plugins; `make setup` installs them as root)")
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def start_pulse() -> PulseServer:
    """Start a private server and wait until it accepts clients."""
    missing_pulse()
    # Short path: the socket path must fit in sockaddr_un (108 bytes).
    runtime_dir = Path(tempfile.mkdtemp(prefix="kwspulse-"))
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime_dir), "HOME": str(runtime_dir)}
    done = subprocess.run(
        ["pulseaudio", "--daemonize=yes", "--exit-idle-time=-1", "-n",
         f"--load=module-null-sink sink_name={SINK}", "--load=module-native-protocol-unix"],
        env=env, capture_output=True, text=True, timeout=30,
    )
    pid_file = runtime_dir / "pulse" / "pid"
    if done.returncode != 0 or not pid_file.is_file():
        shutil.rmtree(runtime_dir, ignore_errors=True)
        pytest.fail(f"pulseaudio did not start (rc {done.returncode}): {done.stderr[-500:]}")
    server = PulseServer(runtime_dir, int(pid_file.read_text().strip()))
    deadline = time.monotonic() + 10
    while True:
        ready = subprocess.run(["pactl", "list", "short", "sources"], env=server.env,
                               capture_output=True, text=True)
        if ready.returncode == 0 and f"{SINK}.monitor" in ready.stdout:
            return server
        if time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"pulseaudio started but has no {SINK}.monitor: {ready.stderr}")
        time.sleep(0.1)


@pytest.fixture
def pulse() -> Iterator[PulseServer]:
    """A private PulseAudio server for one test."""
    server = start_pulse()
    try:
        yield server
    finally:
        server.stop()
