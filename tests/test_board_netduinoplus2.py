"""The STM32F4 Discovery image under QEMU's ``netduinoplus2`` (STM32F405, Cortex-M4F).

The real ``stm32f4-disco`` board code (startup and vector table, clock setup with its
timeouts, USART2 with its receive interrupt, protocol, app) linked by the emulator-only
variant (``stm32f405_qemu.lds``: no CCM in QEMU 7.2; the silicon image keeps it):

- boots on the HSI (QEMU has no RCC: the HSE wait times out), sends INFO and a STATUS that
  says so, answers PING and STATUS_REQUEST, ends on STOP;
- takes a WAV as AUDIO frames over USART2 (QEMU's second serial port) and returns the same
  features, scores and detections as the host, bit for bit, and as ``qemu-mps2-an386``;
- ``kws firmware run DIR --wav F --json`` prints the same JSON as for ``qemu-mps2-an386``.

The I2S/DMA microphone is not emulated: tests/test_app_mic.py and tests/test_boards.py
cover it on the host.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from kws import protocol as P

pytestmark = [
    pytest.mark.arm,
    pytest.mark.skipif(
        not all(shutil.which(t) for t in ("arm-none-eabi-gcc", "qemu-system-arm", "make")),
        reason="needs arm-none-eabi-gcc, qemu-system-arm and make",
    ),
]

FIXTURES = Path(__file__).parent / "fixtures"
MICRO_SPEECH = FIXTURES / "models" / "micro_speech_quantized.tflite"
BOARDS = ("stm32f4-disco", "qemu-mps2-an386")


def _clip(*names: str) -> np.ndarray:
    from kws.audio import load_audio

    return np.concatenate([load_audio(FIXTURES / f"{n}_1000ms.wav") for n in names])


@pytest.fixture(scope="module")
def projects(tmp_path_factory) -> dict[str, Path]:
    """board -> built project of the micro_speech model (kws deploy + kws firmware build)."""
    from kws.cli import main

    root = tmp_path_factory.mktemp("netduino")
    out = {}
    for board in BOARDS:
        pdir = root / board
        assert main(["deploy", str(MICRO_SPEECH), "--board", board, "--frontend", "micro",
                     "--out", str(pdir), "--stride-frames", "7"]) == 0
        assert main(["firmware", "build", str(pdir)]) == 0
        out[board] = pdir
    return out


def test_emulator_image_is_the_board_code_linked_without_ccm(projects) -> None:
    from kws.firmware_project.layout import load_project

    pdir = projects["stm32f4-disco"]
    cfg = load_project(pdir)
    assert (cfg["qemu_machine"], cfg["qemu_serial"]) == ("netduinoplus2", 1)
    from kws.errors import KwsError
    from kws.firmware_project.run import bench_project

    with pytest.raises(KwsError, match="does not count instructions under QEMU"):
        bench_project(pdir)  # SysTick instruction counts are the an386's
    silicon, emulator = pdir / cfg["elf"], pdir / cfg["emulator_elf"]
    assert silicon != emulator and emulator.is_file()
    stacks = []
    for elf in (silicon, emulator):
        data = elf.read_bytes()
        image = subprocess.run([shutil.which("arm-none-eabi-objcopy") or "", "-O", "binary",
                                str(elf), "/dev/stdout"], capture_output=True, check=True).stdout
        assert len(image) > 1024 and data[:4] == b"\x7fELF"
        stacks.append(struct.unpack_from("<I", image, 0)[0])  # initial stack pointer
    assert 0x10000000 < stacks[0] <= 0x10010000  # silicon: stack in CCM
    assert 0x20000000 < stacks[1] <= 0x20020000  # emulator: stack in SRAM


def test_boots_on_hsi_and_answers_commands(projects) -> None:
    from kws.firmware_project.layout import load_project
    from kws.firmware_project.qemu import run_qemu

    pdir = projects["stm32f4-disco"]
    cfg = load_project(pdir)
    stream = (P.encode_frame(P.PING, b"hi", 1) + P.encode_frame(P.STATUS_REQUEST, b"", 2)
              + P.encode_frame(0x42, b"", 3) + P.encode_frame(P.STOP, b"", 4))
    result = run_qemu(pdir / cfg["emulator_elf"], timeout=60, uart_input=stream,
                      machine="netduinoplus2", serial_index=1, input_after_output=True)
    assert result.exit_code == 0
    frames = P.FrameParser().feed(result.uart)
    assert [f.type for f in frames] == [P.INFO, P.STATUS, P.ACK, P.STATUS, P.ACK, P.ACK]
    info = P.decode_info(frames[0].payload)
    assert info.model_id == cfg["model_id"] and not info.has_mic  # emulator: no microphone
    for frame in (frames[1], frames[3]):
        status = P.decode_status(frame.payload)
        assert status.clock_fallback and status.clock_hz == 16_000_000
        assert not status.mic_audio and status.uart_overruns == 0
    acks = [P.decode_ack(f.payload) for f in frames if f.type == P.ACK]
    assert acks == [(P.PING, 1, 0), (0x42, 3, 2), (P.STOP, 4, 0)]
    assert result.uart.endswith(b"kws: exit 0\n")  # the board's own exit report


def test_wav_over_usart2_matches_host_and_an386(projects) -> None:
    from support.detection import expected_detections
    from support.reference import contract_scores
    from test_app_qemu import assert_features_equal_host

    from kws.firmware_project.layout import load_project
    from kws.firmware_project.run import run_project

    pdir = projects["stm32f4-disco"]
    cfg = load_project(pdir)
    audio = _clip("noise", "yes", "no", "silence", "yes")
    audio = np.concatenate([audio, audio[:1234]])  # 160 KB over the 2 KB receive ring
    result = run_project(pdir, audio, features=True, chunk=333)
    assert result.info.frontend == "micro" and result.info.stride_frames == 7

    assert_features_equal_host(result, cfg, audio)

    expected = contract_scores(audio, cfg, MICRO_SPEECH, "tflm")
    assert len(expected) == len(result.scores) > 20
    for got, want in zip(result.scores, expected, strict=True):
        assert got.frame_index == want.frame_index
        assert np.array_equal(got.scores, want.scores), got.frame_index
    replay = expected_detections(result.scores, cfg)
    assert replay and [(d.frame_index, d.label, d.average) for d in result.detections] == replay

    an386 = run_project(projects["qemu-mps2-an386"], audio, features=True, chunk=333)
    assert [(s.frame_index, s.scores.tolist()) for s in an386.scores] == \
        [(s.frame_index, s.scores.tolist()) for s in result.scores]
    assert an386.detections == result.detections


def test_cli_run_prints_the_same_json_as_an386(projects, tmp_path, capsys) -> None:
    import soundfile as sf

    from kws.cli import main

    wav = tmp_path / "clip.wav"
    sf.write(str(wav), _clip("yes", "no", "yes"), 16000, subtype="PCM_16")
    printed = {}
    for board in BOARDS:
        capsys.readouterr()
        assert main(["firmware", "run", str(projects[board]), "--wav", str(wav), "--json"]) == 0
        printed[board] = json.loads(capsys.readouterr().out)
    assert printed["stm32f4-disco"] == printed["qemu-mps2-an386"]
    assert len(printed["stm32f4-disco"]["scores"]) >= 10
