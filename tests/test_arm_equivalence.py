"""Host == Cortex-M4: the feature front ends give the same bits on the board as on the host.

``firmware/tests/frontend_check.c`` is built with arm-none-eabi-gcc (hard-float, printing
over semihosting; soft-float, printing over the UART) with every config's tables baked in
by :mod:`kws.firmware_project.emit_c`, plus real clips and random audio generated for this run.
QEMU runs it, and every frame must equal the host C core's output exactly.
"""

from __future__ import annotations

import re
import secrets
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from support.frontend_check import (
    FrontendCheckOutput,
    build_frontend_check,
    mfcc_core_available,
    run_frontend_check,
)

from kws.features.mfcc import mfcc_features
from kws.features.micro import MicroFrontendConfig, micro_features
from kws.firmware_project.toolchain import CORE_DIR, compile_flags, have_arm_tools

pytestmark = [
    pytest.mark.arm,
    pytest.mark.skipif(
        not have_arm_tools(),
        reason="needs arm-none-eabi-gcc and qemu-system-arm (apt-get install gcc-arm-none-eabi "
        "libnewlib-arm-none-eabi qemu-system-arm)",
    ),
]

FIXTURES = Path(__file__).parent / "fixtures"
REAL_CLIPS = ["yes_1000ms", "no_1000ms", "noise_1000ms", "silence_1000ms", "yes_30ms"]
MICRO_CONFIGS = {
    "30-20-40-pcan": MicroFrontendConfig(window_ms=30, step_ms=20, num_channels=40),
    "30-20-40-nopcan": MicroFrontendConfig(
        window_ms=30, step_ms=20, num_channels=40, enable_pcan=False
    ),
    "30-10-40-pcan": MicroFrontendConfig(window_ms=30, step_ms=10, num_channels=40),
    "30-10-40-nopcan": MicroFrontendConfig(
        window_ms=30, step_ms=10, num_channels=40, enable_pcan=False
    ),
}
MFCC_WINDOWS_MS = [30, 40]
# Fresh random audio every run; the seed is in every failure message to reproduce it.
SEED = secrets.randbits(32)


def _mfcc_configs() -> dict[str, object]:
    if not mfcc_core_available():
        return {}
    from kws.features.mfcc import MfccConfig

    return {f"{w}ms": MfccConfig(window_ms=w, step_ms=20) for w in MFCC_WINDOWS_MS}


MFCC_CONFIGS = _mfcc_configs()


def _read_clip(name: str) -> np.ndarray:
    import soundfile as sf

    data, rate = sf.read(str(FIXTURES / f"{name}.wav"), dtype="int16")
    assert rate == 16000 and data.ndim == 1
    return data


def _random_clips(rng: np.random.Generator) -> list[np.ndarray]:
    n = 12000
    t = np.arange(n) / 16000.0
    clips = [
        np.clip(rng.standard_normal(n) * scale, -32768, 32767).astype(np.int16)
        for scale in (3, 300, 6000, 60000)
    ]
    sweep = np.sin(2 * np.pi * (50 + 3000 * t) * t) * rng.uniform(100, 32000)
    clips.append(sweep.astype(np.int16))
    clips.append(rng.integers(-32768, 32768, n).astype(np.int16))
    clips.append(np.full(n // 2, -32768, np.int16))
    # Speech with random gain and a random offset into the clip (not hop-aligned).
    speech = _read_clip("no_1000ms").astype(np.float64) * rng.uniform(0.05, 4.0)
    clips.append(np.clip(speech[rng.integers(1, 400) :], -32768, 32767).astype(np.int16))
    return clips


@pytest.fixture(scope="module")
def clips() -> list[np.ndarray]:
    rng = np.random.default_rng(SEED)
    return [_read_clip(name) for name in REAL_CLIPS] + _random_clips(rng)


@pytest.fixture(scope="module", params=["hard", "soft"])
def board_output(
    request: pytest.FixtureRequest, clips: list[np.ndarray], tmp_path_factory
) -> tuple[str, FrontendCheckOutput]:
    """Build and run the check once per float ABI (hard: semihosting, soft: UART output)."""
    abi = request.param
    output = "semihosting" if abi == "hard" else "uart"
    out_dir = tmp_path_factory.mktemp(f"frontend_check_{abi}")
    elf = build_frontend_check(
        out_dir,
        list(MICRO_CONFIGS.values()),
        list(MFCC_CONFIGS.values()),
        clips,
        float_abi=abi,
        output=output,
    )
    result, _ = run_frontend_check(elf, output=output, timeout=180)
    return abi, result


def assert_board_equals_host(board_clips: list[np.ndarray], clips: list[np.ndarray],
                             host_features: Callable[[np.ndarray], np.ndarray],
                             where: str) -> int:
    """Every clip's board frames equal the host's, bit for bit; returns the frame count."""
    assert len(board_clips) == len(clips)
    total_frames = 0
    for k, clip in enumerate(clips):
        host = host_features(clip)
        board = board_clips[k]
        at = f"{where}, clip {k}, seed {SEED}"
        assert board.shape[0] == host.shape[0], at
        assert board.size == host.size, at
        board = board.reshape(host.shape)
        if host.dtype == np.float32:  # bit patterns: equal signs of zero, no NaN loophole
            board, host = board.view(np.uint32), host.view(np.uint32)
        assert np.array_equal(board, host), at
        total_frames += host.shape[0]
    return total_frames


# (front end, index in the board's output, config name) for every baked config.
BOARD_CASES = [("micro", i, name) for i, name in enumerate(MICRO_CONFIGS)] + [
    ("mfcc", i, name) for i, name in enumerate(MFCC_CONFIGS)
]
# Frames compared over all clips at least: the comparison covered real work, not empty clips.
MIN_FRAMES = {"micro": 400, "mfcc": 200}


@pytest.mark.parametrize("kind,index,name", BOARD_CASES)
def test_frontend_board_equals_host(
    board_output: tuple[str, FrontendCheckOutput], clips: list[np.ndarray], kind: str,
    index: int, name: str
) -> None:
    abi, result = board_output
    config = (MICRO_CONFIGS if kind == "micro" else MFCC_CONFIGS)[name]
    features = micro_features if kind == "micro" else mfcc_features
    total_frames = assert_board_equals_host(
        getattr(result, kind)[index], clips, lambda clip: features(clip, config),
        f"{abi}-float, {kind} {name}")
    assert total_frames > MIN_FRAMES[kind]


def test_micro_frontend_streaming_matches_across_clip_lengths(
    board_output: tuple[str, FrontendCheckOutput], clips: list[np.ndarray]
) -> None:
    """The 30 ms clip yields exactly one 30 ms frame; empty results stay empty on both sides."""
    _, result = board_output
    short = REAL_CLIPS.index("yes_30ms")
    assert result.micro[0][short].shape[0] == 1
    if MFCC_CONFIGS:
        assert result.mfcc[0][short].shape[0] == 1
        assert result.mfcc[1][short].shape[0] == 0  # 40 ms window does not fit 30 ms


def _core_c_files() -> list[Path]:
    return sorted(CORE_DIR.rglob("*.c"))


@pytest.mark.parametrize("abi", ["hard", "soft"])
def test_core_compiles_warning_free_for_cortex_m4(abi: str, tmp_path: Path) -> None:
    """Every core file compiles with -Werror for the M4 and needs no libc.

    Undefined symbols may only be other core functions, libgcc helpers (``__aeabi_*``,
    soft-float), ``<math.h>`` functions, or the memcpy/memset/memmove that GCC itself emits
    for struct copies and zeroing loops (the board provides those).
    """
    files = _core_c_files()
    assert files
    objects = []
    for i, src in enumerate(files):
        obj = tmp_path / f"{i}_{src.stem}.o"
        proc = subprocess.run(
            ["arm-none-eabi-gcc", *compile_flags(abi, "-O2"), f"-I{CORE_DIR}", "-c", str(src),
             "-o", str(obj)],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, f"{src}:\n{proc.stderr}"
        assert proc.stderr == "", f"{src}:\n{proc.stderr}"
        objects.append(str(obj))
    nm = subprocess.run(
        ["arm-none-eabi-nm", "-g", *objects], capture_output=True, text=True, check=True
    ).stdout
    defined = set(re.findall(r"^[0-9a-f]+ [TDBR] (\S+)$", nm, re.M))
    undefined = set(re.findall(r"^\s+U (\S+)$", nm, re.M)) - defined
    math_h = {
        f + s
        for f in ("sqrt", "log", "exp", "pow", "cos", "sin", "floor", "fabs", "log1p")
        for s in ("", "f")
    }
    allowed = math_h | {"memcpy", "memset", "memmove"}
    bad = {u for u in undefined if u not in allowed and not u.startswith("__aeabi_")}
    assert not bad, f"core code ({abi}-float) depends on libc symbols: {sorted(bad)}"


def test_core_includes_only_freestanding_headers() -> None:
    # C99 freestanding headers, <math.h>, and the compiler's own ACLE intrinsics.
    allowed = {"stdint.h", "stddef.h", "math.h", "stdbool.h", "limits.h", "float.h", "arm_acle.h"}
    for path in sorted(CORE_DIR.rglob("*.[ch]")):
        for header in re.findall(r"#\s*include\s*<([^>]+)>", path.read_text()):
            assert header in allowed, f"{path}: includes <{header}> (firmware core: no libc)"


def test_hard_float_build_uses_the_fpu(tmp_path: Path) -> None:
    """The hard-float check really runs MFCC on FPv4 instructions, soft-float on libgcc."""
    if not MFCC_CONFIGS:
        pytest.skip("MFCC C core not in this checkout")
    src = CORE_DIR / "mfcc" / "mel_filterbank.c"
    listings = {}
    for abi in ("hard", "soft"):
        obj = tmp_path / f"mel_{abi}.o"
        subprocess.run(
            ["arm-none-eabi-gcc", *compile_flags(abi), f"-I{CORE_DIR}", "-c", str(src), "-o",
             str(obj)],
            check=True,
        )
        listings[abi] = subprocess.run(
            ["arm-none-eabi-objdump", "-d", str(obj)], capture_output=True, text=True, check=True
        ).stdout
    assert re.search(r"\bv(mul|mla|add)\.f32\b", listings["hard"])
    assert not re.search(r"\bv(mul|add)\.f32\b", listings["soft"])
    assert "__aeabi_fmul" in listings["soft"] or "__aeabi_fadd" in listings["soft"]
