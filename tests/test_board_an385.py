"""Board ``qemu-mps2-an385``: the same application on QEMU's Cortex-M3 (no FPU, no DSP).

- Engine ``qemu:qemu-mps2-an385`` (portable C kernels) equals tflite-micro on random inputs
  (micro_speech fixture and a DS-CNN) and on real clips' features; ``kws compare`` takes it.
- A WAV over the UART gives the host's features, scores and detections (micro and MFCC; the
  MFCC frontend runs on soft float).
- Nothing from libc in any board's image (symbol table, link map): no malloc/free/printf/
  stdio/_sbrk; the M3's micro build calls no soft-float helper at all.
- ``kws deploy`` refuses a model whose memory plan does not fit the board, with the
  numbers; ``kws firmware build --json`` reports the planned, measured and available memory.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from test_app_qemu import (
    MICRO_SPEECH,
    NUM_RANDOM,
    _assert_engine_equal,
    _random_inputs,
    assert_wav_over_uart_matches_host,
    build_projects,
    random_and_real_inputs,
)

from kws.errors import KwsError

pytestmark = [
    pytest.mark.arm,
    pytest.mark.skipif(
        not all(shutil.which(t) for t in ("arm-none-eabi-gcc", "arm-none-eabi-nm",
                                          "qemu-system-arm", "make")),
        reason="needs arm-none-eabi-gcc, qemu-system-arm and make "
        "(apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm make)",
    ),
]

BOARD = "qemu-mps2-an385"
ENGINE = f"qemu:{BOARD}"
# Symbols that would mean libc's heap or stdio got linked in.
LIBC_SYMBOLS = ("malloc", "free", "calloc", "realloc", "_sbrk", "sbrk", "printf", "sprintf",
                "snprintf", "vprintf", "puts", "putchar", "fputs", "fwrite", "fopen",
                "_write", "_read", "__sfp", "_impure_ptr", "stdout", "stderr")


@pytest.fixture(scope="module")
def projects(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """kind -> (model, built project dir) on the Cortex-M3."""
    return build_projects(tmp_path_factory.mktemp("an385"), BOARD)


def test_board_is_a_cortex_m3_without_fpu() -> None:
    from kws.boards import get_board

    board = get_board(BOARD)
    assert board.qemu_machine == "mps2-an385" and board.float_abi == "soft"
    assert "-mcpu=cortex-m3" in board.cflags() and not any("-mfpu" in f for f in board.cflags())
    # The MPS2 C is shared with the M4 board, not copied.
    m4 = get_board("qemu-mps2-an386")
    assert board.common == m4.common == ("cortex_m", "mps2")
    assert board.source_paths() == m4.source_paths()


def test_every_board_states_its_memory() -> None:
    from kws.boards import board_names, get_board

    for name in board_names():
        board = get_board(name)
        assert board.ram_bytes > 0 and board.flash_bytes > 0, name


def test_bench_counts_the_portable_path(projects, capsys) -> None:
    from kws.cli import main

    _, pdir = projects["micro"]
    assert main(["firmware", "bench", str(pdir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # No SMLAD on the M3: above the M4's DSP figures, and not a stuck counter.
    assert 2.0 < out["instructions_per_mac"] < 50
    assert out["instructions_per_inference"] == pytest.approx(
        out["instructions_per_mac"] * out["macs"], rel=1e-3)


def test_engine_micro_speech_random(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KWS_CACHE_DIR", str(tmp_path))
    _assert_engine_equal(MICRO_SPEECH, _random_inputs((1, 1960), NUM_RANDOM, 21), ENGINE)


def test_engine_ds_cnn_random_and_real(projects, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KWS_CACHE_DIR", str(tmp_path))
    model, pdir = projects["mfcc"]
    _assert_engine_equal(model, random_and_real_inputs(pdir), ENGINE)


def test_compare_cli_takes_a_board_engine(tmp_path, monkeypatch, capsys) -> None:
    from kws.cli import main

    monkeypatch.setenv("KWS_CACHE_DIR", str(tmp_path))
    assert main(["compare", "--model", str(MICRO_SPEECH), "--engines", f"tflm,{ENGINE}",
                 "--random", "20", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(p["a"], p["b"], p["tensors"], p["mismatched_elements"])
            for p in report["pairs"]] == [("tflm", ENGINE, 20, 0)]
    assert main(["compare", "--model", str(MICRO_SPEECH), "--engines",
                 "tflm,qemu:nano33ble", "--random", "2", "--json"]) == 2
    assert "not emulated" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["micro", "mfcc"])
def test_wav_over_uart_matches_host(projects, kind: str) -> None:
    assert_wav_over_uart_matches_host(*projects[kind], kind)


def _nm_symbols(elf: Path) -> set[str]:
    out = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


@pytest.mark.parametrize("board", ["qemu-mps2-an385", "qemu-mps2-an386", "stm32f4-disco"])
def test_nothing_from_libc_in_the_image(board: str, tmp_path) -> None:
    from kws.firmware_project.build import build_project
    from kws.firmware_project.deploy import deploy

    pdir = tmp_path / "fw"
    deploy(MICRO_SPEECH, pdir, board, frontend="micro")
    report = build_project(pdir)
    symbols = _nm_symbols(report.elf)
    assert len(symbols) > 50  # a real symbol table
    assert not symbols & set(LIBC_SYMBOLS)
    # The link map: no member of libc (or libm) is linked; libgcc's are listed as they are.
    assert all(m.startswith("libgcc.a(") for m in report.libc_members), report.libc_members
    if board == BOARD:
        # Integer-only: the micro frontend, its quantization table and the int8 kernels.
        assert not [s for s in symbols if s.startswith(("__aeabi_f", "__aeabi_d"))]
        assert report.libc_members == []


def test_mfcc_build_uses_soft_float_on_the_m3(projects) -> None:
    from kws.firmware_project.build import build_project

    _, pdir = projects["mfcc"]
    report = build_project(pdir)
    symbols = _nm_symbols(report.elf)
    assert "__aeabi_fmul" in symbols and "__aeabi_fadd" in symbols
    assert any(m.startswith("libgcc.a(_arm_") for m in report.libc_members)
    assert not [m for m in report.libc_members if not m.startswith("libgcc.a(")]


def test_build_json_reports_planned_measured_and_available(projects, capsys) -> None:
    from kws.cli import main

    for kind in ("micro", "mfcc"):
        _, pdir = projects[kind]
        assert main(["firmware", "build", str(pdir), "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert {"flash_bytes", "ram_bytes", "arena_bytes", "libc_members"} <= set(out)
        planned, measured = out["memory"]["planned"], out["memory"]["measured"]
        assert out["memory"]["available"] == {"ram_bytes": 131072, "flash_bytes": 524288}
        assert measured["ram_bytes"] == out["ram_bytes"] <= 131072
        assert measured["flash_bytes"] == out["flash_bytes"] <= 524288
        # Every planned RAM part holds what the image holds (a bound, not far above it).
        for part, size in measured["ram"].items():
            assert 0 < size <= planned["ram"][part] <= size + 512, (kind, part)
        assert measured["flash"]["weights"] == planned["flash"]["weights"] > 0
        assert measured["flash"]["code"] <= planned["flash"]["code"]
        assert measured["ram_bytes"] <= planned["ram_bytes"] + 512


def _small_board(root: Path, ram_kib: int) -> Path:
    """A copy of the M3 board whose part (board.json and linker script) has ``ram_kib`` KiB."""
    from kws.boards import BOARDS_DIR

    board = root / BOARD
    shutil.copytree(BOARDS_DIR / BOARD, board)
    shutil.copytree(BOARDS_DIR / "common", root / "common")
    data = json.loads((board / "board.json").read_text())
    data["ram_bytes"] = ram_kib * 1024
    (board / "board.json").write_text(json.dumps(data))
    script = board / "mps2_an385.ld"
    script.write_text(script.read_text().replace("LENGTH = 128K", f"LENGTH = {ram_kib}K"))
    return root


def test_deploy_refuses_a_model_that_does_not_fit(tmp_path, monkeypatch, capsys) -> None:
    from kws import boards
    from kws.cli import main
    from kws.firmware_project import deploy as deploy_module

    boards_dir = _small_board(tmp_path / "boards", 24)
    monkeypatch.setattr(deploy_module, "get_board",
                        lambda name: boards.get_board(name, boards_dir))
    out = tmp_path / "fw"
    with pytest.raises(KwsError, match=r"does not fit qemu-mps2-an385: RAM needs (\d+) bytes "
                       r"\(arena 4720 \+ .*stack 16384.*\), the board has 24576 \(over by"):
        deploy_module.deploy(MICRO_SPEECH, out, BOARD, frontend="micro")
    assert not out.exists()
    assert main(["deploy", str(MICRO_SPEECH), "--board", BOARD, "--out", str(out),
                 "--frontend", "micro"]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "RAM needs" in err and "24576" in err
    assert not out.exists()


def test_plan_agrees_with_the_linker(tmp_path, monkeypatch) -> None:
    """A board just big enough for the plan links; the plan is what the linker needs."""
    from kws import boards
    from kws.firmware_project import deploy as deploy_module
    from kws.firmware_project.build import build_project

    boards_dir = _small_board(tmp_path / "boards", 36)
    monkeypatch.setattr(deploy_module, "get_board",
                        lambda name: boards.get_board(name, boards_dir))
    cfg = deploy_module.deploy(MICRO_SPEECH, tmp_path / "fw", BOARD, frontend="micro")
    assert cfg["memory_plan"]["ram_bytes"] <= 36 * 1024
    report = build_project(tmp_path / "fw")
    assert report.ram_bytes <= 36 * 1024
    assert abs(report.ram_bytes - cfg["memory_plan"]["ram_bytes"]) < 512
    assert np.isclose(report.ram_bytes, cfg["memory_plan"]["ram_bytes"], rtol=0.02)
