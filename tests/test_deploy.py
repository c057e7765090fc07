"""``kws deploy`` project generation, the board registry, and building the project."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from kws.errors import KwsError

FIXTURES = Path(__file__).parent / "fixtures"
MICRO_SPEECH = FIXTURES / "models" / "micro_speech_quantized.tflite"
HAVE_ARM = all(shutil.which(t) for t in ("arm-none-eabi-gcc", "arm-none-eabi-size", "make"))
arm = pytest.mark.arm
needs_arm = pytest.mark.skipif(
    not HAVE_ARM, reason="needs arm-none-eabi-gcc and make "
    "(apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi make)")


def _model_with_json(tmp_path: Path, frontend: dict | None = None) -> Path:
    from kws.features import MicroFrontendConfig

    model = tmp_path / "model_int8.tflite"
    shutil.copy(MICRO_SPEECH, model)
    meta = {"model_file": model.name, "labels": ["_silence_", "_unknown_", "yes", "no"],
            "frontend": frontend or MicroFrontendConfig().to_dict()}
    (tmp_path / "model.json").write_text(json.dumps(meta))
    return model


def test_board_registry() -> None:
    from kws.boards import board_names, get_board

    assert "qemu-mps2-an386" in board_names()
    b = get_board("qemu-mps2-an386")
    assert b.qemu_machine == "mps2-an386" and not b.has_mic
    assert "-mcpu=cortex-m4" in b.cflags() and "-mfloat-abi=hard" in b.cflags()
    assert all(p.is_file() for p in b.source_paths())
    # Shared Cortex-M parts are board sources and include directories of both boards.
    for name in ("qemu-mps2-an386", "stm32f4-disco"):
        board = get_board(name)
        assert board.common[0] == "cortex_m"  # the MPS2 boards also share "mps2"
        assert "compiler_support.c" in [p.name for p in board.source_paths()]
        assert board.common_paths()[0] in board.include_paths()
    with pytest.raises(KwsError, match="unknown board 'nope'.*qemu-mps2-an386"):
        get_board("nope")
    # The toolchain takes a board's CPU flags, sources and linker script from the registry.
    from kws.firmware_project.toolchain import compile_flags

    assert compile_flags("soft", board="stm32f4-disco")[:3] == [
        *get_board("stm32f4-disco").cpu, "-mfloat-abi=soft"]
    assert "-mfpu=fpv4-sp-d16" in compile_flags("hard")
    nano = get_board("nano33ble")
    assert nano.package == "arduino-library" and nano.has_mic and nano.sources == ()
    with pytest.raises(KwsError, match="linked by its arduino-library tooling"):
        nano.linker_script_path()


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.pop("cpu"), "cpu"),
    (lambda d: d.update(float_abi="double"), "float_abi"),
    (lambda d: d.update(sources=["missing.c"]), "missing.c"),
    (lambda d: d.update(name="other"), "does not match"),
    (lambda d: d.update(flash=[1]), "flash"),
    (lambda d: d.update(package="zip"), "package must be one of"),
    (lambda d: d.pop("linker_script"), "linker_script"),
    (lambda d: d.update(common=["nope"]), "shared part 'nope'"),
])
def test_bad_board_json_is_refused(tmp_path, edit, message) -> None:
    from kws.boards import get_board

    src = get_board("qemu-mps2-an386").directory
    board = tmp_path / "qemu-mps2-an386"
    shutil.copytree(src, board)
    shutil.copytree(src.parent / "common", tmp_path / "common")
    data = json.loads((board / "board.json").read_text())
    edit(data)
    (board / "board.json").write_text(json.dumps(data))
    with pytest.raises(KwsError, match=message):
        get_board("qemu-mps2-an386", tmp_path)
    (board / "board.json").write_text("{not json")
    with pytest.raises(KwsError, match="board.json: not a readable JSON"):
        get_board("qemu-mps2-an386", tmp_path)


def test_deploy_writes_a_self_contained_project(tmp_path) -> None:
    from kws.firmware_project.deploy import deploy, frontend_hash
    from kws.firmware_project.layout import load_project

    model = _model_with_json(tmp_path)
    cfg = deploy(model, tmp_path / "fw", stride_frames=4)
    fw = tmp_path / "fw"
    assert load_project(fw) == cfg
    assert cfg["frontend_kind"] == "micro" and (cfg["frames"], cfg["channels"]) == (49, 40)
    assert cfg["stride_frames"] == 4 and cfg["labels"][2] == "yes"
    assert cfg["frontend_hash"] == frontend_hash(cfg["frontend"]) != 0
    for rel in ("Makefile", "app/main.c", "app/protocol.c", "board/board.h",
                "board/mps2_an386.ld", "board/common/cortex_m/cortex_m.c",
                "core/kernels/conv_2d.c",
                "core/micro_frontend/micro_frontend.c", "generated/model.c",
                "generated/model_weights.c", "generated/frontend.c",
                "generated/kws_app_config.h"):
        assert (fw / rel).is_file(), rel
    assert not (fw / "core" / "mfcc").exists()  # only what the model needs
    header = (fw / "generated" / "kws_app_config.h").read_text()
    assert "#define KWS_APP_STRIDE_FRAMES 4" in header
    assert "KWS_FRONTEND_MICRO" in header
    # Mask: silence and unknown never trigger a detection.
    assert "kws_app_keyword_mask[4]" in (fw / "generated" / "frontend.c").read_text()
    # No absolute paths into the kws checkout: the directory can be moved or shared.
    assert str(Path(__file__).resolve().parent.parent) not in (fw / "Makefile").read_text()
    # Redeploying replaces the project, leaving no temporary directories behind.
    deploy(model, fw, frontend="none")
    assert load_project(fw)["frontend_kind"] == "none"
    assert not (fw / "generated" / "frontend.c").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fw", "model.json",
                                                          "model_int8.tflite"]


def test_deploy_refusals_leave_nothing(tmp_path) -> None:
    from kws.firmware_project.deploy import deploy
    from kws.firmware_project.layout import load_project

    model = _model_with_json(tmp_path)
    with pytest.raises(KwsError, match="unknown board"):
        deploy(model, tmp_path / "a", "no-such-board")
    with pytest.raises(KwsError, match="stride"):
        deploy(model, tmp_path / "b", stride_frames=0)
    with pytest.raises(KwsError, match="not found"):
        deploy(tmp_path / "missing.tflite", tmp_path / "c")
    corrupt = tmp_path / "corrupt.tflite"
    corrupt.write_bytes(MICRO_SPEECH.read_bytes()[:500])
    with pytest.raises(KwsError, match="corrupt.tflite"):
        deploy(corrupt, tmp_path / "d")
    # An MFCC frontend of 13 coefficients does not tile the 1960-value input.
    (tmp_path / "model.json").write_text(json.dumps({
        "model_file": model.name, "labels": ["a", "b", "c", "d"],
        "frontend": {"type": "mfcc", "num_mfcc": 13}}))
    with pytest.raises(KwsError, match="whole number of 13-channel frames"):
        deploy(model, tmp_path / "e")
    (tmp_path / "model.json").write_text(json.dumps({
        "model_file": model.name, "labels": ["a", "b"]}))
    with pytest.raises(KwsError, match="2 labels, the model has 4 outputs"):
        deploy(model, tmp_path / "f", frontend="micro")
    with pytest.raises(KwsError, match="microphone, so it needs a frontend"):
        deploy(model, tmp_path / "g", "stm32f4-disco", frontend="none")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt.tflite", "model.json",
                                                          "model_int8.tflite"]
    with pytest.raises(KwsError, match="not a kws firmware project"):
        load_project(tmp_path)


@arm
@needs_arm
def test_project_builds_with_plain_make_warning_free(tmp_path) -> None:
    """The generated Makefile alone (no kws on PATH or PYTHONPATH) builds firmware, bench and
    size targets with -Wall -Wextra -Werror; gcc prints no diagnostics at all."""
    from kws.firmware_project.deploy import deploy

    model = _model_with_json(tmp_path)
    fw = tmp_path / "fw"
    deploy(model, fw)
    moved = tmp_path / "elsewhere"
    shutil.move(fw, moved)  # nothing refers back to the checkout
    env = {"PATH": "/usr/bin:/bin"}
    for target in ("all", "bench", "size"):
        proc = subprocess.run(["make", "-C", str(moved), target], capture_output=True,
                              text=True, env=env)
        assert proc.returncode == 0, proc.stderr
        assert "warning" not in proc.stderr.lower() and "error" not in proc.stderr.lower()
    assert "-Werror" in (moved / "Makefile").read_text()
    for name in ("firmware.elf", "firmware.bin", "bench.elf"):
        assert (moved / "build" / name).stat().st_size > 1000


@arm
@needs_arm
def test_cli_deploy_and_build_json(tmp_path, capsys) -> None:
    from kws.cli import main

    model = _model_with_json(tmp_path)
    fw = tmp_path / "fw"
    assert main(["deploy", str(model), "--board", "qemu-mps2-an386", "--out", str(fw),
                 "--stride-frames", "5"]) == 0
    assert "micro frontend" in capsys.readouterr().out
    assert main(["firmware", "build", str(fw), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"flash_bytes", "ram_bytes", "arena_bytes", "text", "data", "bss",
                        "libc_members", "memory"}
    assert out["libc_members"] == []
    assert out["flash_bytes"] == out["text"] + out["data"]
    assert out["ram_bytes"] == out["data"] + out["bss"]
    cfg = json.loads((fw / "project.json").read_text())
    assert out["arena_bytes"] == cfg["arena_bytes"] > 0
    assert out["flash_bytes"] > cfg["weight_bytes"]
    assert main(["firmware", "build", str(fw)]) == 0
    text = capsys.readouterr().out
    assert ".text" in text and "arena" in text
    assert main(["firmware", "build", str(tmp_path)]) == 2
    assert "no project.json" in capsys.readouterr().err
