"""Shared test helpers."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FIXTURES = Path(__file__).parent / "fixtures"
# Under CI (the `CI` environment variable set, as CI services do) a skipped test is a failed
# one: CI must not pass by skipping what it was meant to run (a missing arm-none-eabi-gcc,
# qemu-system-arm, gcc, ...).  Only a test marked `hardware` (needs a real board or
# microphone, which no CI machine has) may skip there.
IN_CI = bool(os.environ.get("CI"))
TFLM_CLIPS = ["yes_1000ms", "no_1000ms", "noise_1000ms", "silence_1000ms"]


# Start-up lines of TensorFlow, absl and oneDNN that the kws CLI hides (kws/quiet.py).
TF_NOISE = ("I0000", "W0000", "E0000", "oneDNN", "cuda drivers", "absl::InitializeLog",
            "cpu_feature_guard", "WARNING:absl")


def assert_no_tf_noise(text: str) -> None:
    """``text`` (a command's output) holds none of the :data:`TF_NOISE` lines."""
    noisy = [line for line in text.splitlines() if any(n in line for n in TF_NOISE)]
    assert not noisy, noisy


def require_tool(*names: str) -> None:
    """Skip the calling test when one of the programs ``names`` is not on ``PATH`` (under CI
    the skip fails the test: see :data:`IN_CI`)."""
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (not installed)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "hardware: needs a real board or microphone; may skip "
                            "under CI")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """Under CI, turn the skip of a test not marked ``hardware`` into a failure."""
    outcome = yield
    report = outcome.get_result()
    if (IN_CI and report.skipped and not hasattr(report, "wasxfail")
            and item.get_closest_marker("hardware") is None):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI (CI={os.environ['CI']!r}), which must run it: {reason}"


def read_wav_int16(path: Path) -> np.ndarray:
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="int16")
    assert rate == 16000
    return data


@pytest.fixture(scope="session")
def tflm_clips() -> dict[str, np.ndarray]:
    """TFLM micro_speech test clips (real speech, noise and silence), int16 16 kHz."""
    return {name: read_wav_int16(FIXTURES / f"{name}.wav") for name in TFLM_CLIPS}


def random_audio(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """Assorted synthetic int16 signals: white noise at many levels, tones, clipping, DC."""
    t = np.arange(n) / 16000.0
    out = []
    for scale in (1, 30, 300, 3000, 12000, 40000):
        out.append(np.clip(rng.standard_normal(n) * scale, -32768, 32767).astype(np.int16))
    sweep = np.sin(2 * np.pi * (100 + 3900 * t) * t) * 20000
    out.append(sweep.astype(np.int16))
    out.append(np.full(n, -32768, np.int16))
    out.append(rng.integers(-32768, 32768, n).astype(np.int16))
    return out


def host_c_library(out: Path, sources: list[Path], *flags: str) -> ctypes.CDLL:
    """Firmware C ``sources`` built for the host as one shared library, with the firmware's
    strictness (C99, warnings as errors, no fused multiply-add); skips without gcc."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip(f"no host C compiler (gcc) to build {', '.join(s.name for s in sources)}")
    includes = sorted({f"-I{s.parent}" for s in sources})
    subprocess.run([cc, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off",
                    "-fPIC", "-shared", *flags, *includes, "-o", str(out),
                    *(str(s) for s in sources)], check=True, capture_output=True)
    return ctypes.CDLL(str(out))
