"""Shared test helpers."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FIXTURES = Path(__file__).parent / "fixtures"
TFLM_CLIPS = ["yes_1000ms", "no_1000ms", "noise_1000ms", "silence_1000ms"]


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
