"""benchmarks/device_check.py, the README's "Check your board" numbers, kept runnable: the
script's own function on the fixture clips laid out as a Speech Commands folder, with the
real toolchain and the firmware under QEMU."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType

import pytest
from conftest import require_tool

pytestmark = pytest.mark.arm

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
MICRO_SPEECH = FIXTURES / "models" / "micro_speech_quantized.tflite"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("device_check_bench",
                                                  ROOT / "benchmarks" / "device_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def speech_commands(tmp_path: Path) -> Path:
    """yes/ and no/ folders with the fixture clips; no/ also holds the silence clip, which
    sorts after no_1000ms.wav and so is not picked with one clip per word."""
    data = tmp_path / "sc"
    for word in ("yes", "no"):
        (data / word).mkdir(parents=True)
        shutil.copy(FIXTURES / f"{word}_1000ms.wav", data / word / f"{word}_1000ms.wav")
    shutil.copy(FIXTURES / "silence_1000ms.wav", data / "no" / "z_silence_1000ms.wav")
    return data


def test_picks_the_first_clips_by_name(speech_commands: Path) -> None:
    from kws.errors import KwsError

    bench = _bench()
    assert bench.pick_clips(speech_commands, ["yes", "no"], 1) == [
        speech_commands / "yes" / "yes_1000ms.wav", speech_commands / "no" / "no_1000ms.wav"]
    assert len(bench.pick_clips(speech_commands, ["no"], 2)) == 2
    with pytest.raises(KwsError, match="1 WAVs, 2 needed for 'yes'"):
        bench.pick_clips(speech_commands, ["yes"], 2)
    with pytest.raises(KwsError, match="0 WAVs"):
        bench.pick_clips(speech_commands, ["up"], 1)


def test_device_check_on_fixture_clips(speech_commands: Path, tmp_path: Path) -> None:
    require_tool("arm-none-eabi-gcc", "qemu-system-arm", "make")
    bench = _bench()
    out = tmp_path / "result.json"
    rc = bench.main(["--data", str(speech_commands), "--per-word", "1", "--model",
                     str(MICRO_SPEECH), "--out", str(out), "--words", "yes,no"])
    result = json.loads(out.read_text())
    assert rc == 0, result["first_mismatch"]
    assert result["mismatches"] == {"features": 0, "scores": 0, "detections": 0}
    assert result["clips"] == 2 and result["mismatched_clips"] == []
    # 1 s = 49 frames = one window: one score vector per clip.
    assert result["score_vectors"] == 2
    assert result["detections"] >= 1  # the yes clip, at least: not two empty lists
    settings = result["settings"]
    assert (settings["average"], settings["threshold"], settings["stride_frames"]) == (1, 0.5, 10)
    assert result["audio_s"] == 2.0 and result["wall_s"] > 0
    assert result["throughput"] == pytest.approx(result["audio_s"] / result["wall_s"],
                                                 rel=0.01)
    line = out.with_suffix(".md").read_text()
    assert "2 clips" in line and "mismatches: features 0, scores 0, detections 0" in line
