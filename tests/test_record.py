"""kws record: take checks and trimming on real speech, and the command end to end through a
real PortAudio device (a private PulseAudio server's null-sink monitor), Ctrl-C included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import FIXTURES, read_wav_int16
from support.pulse import DEVICE, PulseServer, pulse  # noqa: F401  (fixture)

from kws.errors import KwsError
from kws.record import (
    MANIFEST_FIELDS,
    TakeSettings,
    append_manifest,
    check_name,
    check_take,
    interrupts_held,
    next_take_number,
    read_manifest,
    save_take,
    speech_span,
    trim_take,
)

RATE = 16000
SETTINGS = TakeSettings()


@pytest.fixture(scope="module")
def yes() -> np.ndarray:
    """The real "yes" clip at half level (full level would clip in PulseAudio's resampler)."""
    return read_wav_int16(FIXTURES / "yes_1000ms.wav") // 2


def in_take(word: np.ndarray, at: float, seconds: float = 2.0, noise: float = 30.0,
            seed: int = 0) -> np.ndarray:
    """``word`` placed at ``at`` seconds in a take of quiet noise."""
    take = np.random.default_rng(seed).normal(0, noise, int(seconds * RATE))
    start = int(at * RATE)
    take[start : start + len(word)] += word[: len(take) - start]
    return np.clip(np.round(take), -32768, 32767).astype(np.int16)


def as_device(audio: np.ndarray) -> np.ndarray:
    return audio.astype(np.float32) / 32768


def word_match(clip: np.ndarray, word: np.ndarray) -> tuple[float, float]:
    """Normalized cross-correlation peak of ``clip`` with ``word``, and the share of the
    word's energy that ``clip`` holds."""
    c, w = clip.astype(np.float64), word.astype(np.float64)
    corr = np.correlate(c, w, "full").max() / np.sqrt((c * c).sum() * (w * w).sum())
    return float(corr), float((c * c).sum() / (w * w).sum())


# ---------------------------------------------------------------- checks and trimming


def test_good_take_is_trimmed_around_the_word(yes: np.ndarray) -> None:
    take = in_take(yes, 0.6)
    check = check_take(take, as_device(take), SETTINGS)
    assert check.ok and check.span is not None, check.reason
    # the loud part of "yes" lies 0.47..0.85 s into the clip
    assert 0.6 * RATE <= check.span[0] <= 1.1 * RATE <= 1.4 * RATE <= check.span[1]
    clip = trim_take(take, check.span, SETTINGS)
    assert clip.dtype == np.int16 and len(clip) == RATE
    corr, energy = word_match(clip, yes)
    assert corr > 0.99 and energy > 0.98
    assert -7.5 < check.peak_dbfs < -6.0


def test_long_speech_is_kept_whole_with_padding(yes: np.ndarray) -> None:
    word = np.concatenate([yes[7500:14000], yes[7500:14000]])  # 0.81 s of loud speech
    take = in_take(word, 0.5)
    check = check_take(take, as_device(take), SETTINGS)
    assert check.ok and check.span is not None, check.reason
    clip = trim_take(take, check.span, TakeSettings(clip_ms=500))
    pad = SETTINGS.pad_ms * RATE // 1000
    assert len(clip) == check.span[1] - check.span[0] + 2 * pad > RATE // 2


def test_trim_zero_pads_a_take_shorter_than_a_clip(yes: np.ndarray) -> None:
    take = in_take(yes[7000:14500], 0.1, seconds=0.7)
    check = check_take(take, as_device(take), SETTINGS)
    assert check.ok and check.span is not None, check.reason
    clip = trim_take(take, check.span, SETTINGS)
    assert len(clip) == RATE and word_match(clip, yes[7000:14500])[0] > 0.99


@pytest.mark.parametrize(("make", "reason"), [
    (lambda yes: in_take(yes // 200, 0.6), "too quiet (peak -4"),
    (lambda yes: in_take(np.zeros(10, np.int16), 0.5), "too quiet"),
    (lambda yes: in_take(np.clip(yes.astype(int) * 8, -32768, 32767), 0.6), "clipped ("),
    (lambda yes: in_take(yes[8000:9300], 0.6), "too short (0.0"),
    (lambda yes: in_take(np.tile(yes[7500:14000], 4), 0.2, seconds=2.5), "too long (1."),
    (lambda yes: in_take(yes, 1.4), "cut off at the end"),
    (lambda yes: in_take(yes[7500:], 0.0), "cut off at the start"),
])
def test_bad_takes_are_rejected_with_the_reason(
    yes: np.ndarray, make: Callable[[np.ndarray], np.ndarray], reason: str
) -> None:
    take = make(yes)
    check = check_take(take, as_device(take), SETTINGS)
    assert not check.ok and check.reason is not None
    assert check.reason.startswith(reason), check.reason


def test_clicks_are_not_speech() -> None:
    take = in_take(np.full(320, 20000, np.int16), 1.0)  # a 20 ms click
    assert speech_span(take, SETTINGS) is None


# ---------------------------------------------------------------- files and manifest


def test_names_numbering_and_manifest(tmp_path: Path, yes: np.ndarray) -> None:
    assert check_name("marvin", "word") == "marvin"
    for bad, what in (("_unknown_", "word"), ("a/b", "word"), ("ann_b", "speaker"),
                      ("", "speaker")):
        with pytest.raises(KwsError, match="not usable in file names"):
            check_name(bad, what)
    assert next_take_number(tmp_path, "yes", "ann") == 1
    p1 = save_take(tmp_path, "yes", "ann", yes, {"word": "yes", "device": "mic"})
    p2 = save_take(tmp_path, "yes", "ann", yes, {"word": "yes", "device": "mic"})
    p3 = save_take(tmp_path, "yes", "bob", yes, {"word": "yes", "device": "mic"})
    assert [p.name for p in (p1, p2, p3)] == ["ann_1.wav", "ann_2.wav", "bob_1.wav"]
    assert np.array_equal(read_wav_int16(p2), yes)
    rows = read_manifest(tmp_path)
    assert [(r["file"], r["speaker"], r["take"], r["seconds"]) for r in rows] == [
        ("yes/ann_1.wav", "ann", "1", "1.000"), ("yes/ann_2.wav", "ann", "2", "1.000"),
        ("yes/bob_1.wav", "bob", "1", "1.000")]
    # a deleted take's number is not given out again (the manifest remembers it)
    p2.unlink()
    assert next_take_number(tmp_path, "yes", "ann") == 3
    assert sorted(os.listdir(tmp_path)) == ["manifest.csv", "yes"]
    assert sorted(os.listdir(tmp_path / "yes")) == ["ann_1.wav", "bob_1.wav"]
    with open(tmp_path / "manifest.csv") as f:
        assert f.readline().strip() == ",".join(MANIFEST_FIELDS)
    (tmp_path / "manifest.csv").write_text("a,b\n1,2\n")
    for touch in (read_manifest, lambda out: append_manifest(out, {})):
        with pytest.raises(KwsError, match="not a kws record manifest"):
            touch(tmp_path)


def test_interrupt_waits_for_the_save(tmp_path: Path, yes: np.ndarray) -> None:
    with pytest.raises(KeyboardInterrupt):
        with interrupts_held():
            os.kill(os.getpid(), signal.SIGINT)
            save_take(tmp_path, "yes", "ann", yes, {"word": "yes"})
    assert np.array_equal(read_wav_int16(tmp_path / "yes" / "ann_1.wav"), yes)
    assert len(read_manifest(tmp_path)) == 1


def test_recorded_folder_is_a_training_dataset(tmp_path: Path, yes: np.ndarray) -> None:
    from kws.data import load_dataset
    from kws.record import BACKGROUND_NOISE_DIR

    for i in range(20):
        save_take(tmp_path, "marvin", "ann", np.roll(yes, 100 * i), {"word": "marvin"})
    for _ in range(3):
        save_take(tmp_path, "other", "ann", yes[::-1].copy(), {"word": "other"})
    noise = np.random.default_rng(1).normal(0, 300, 10 * RATE).astype(np.int16)
    save_take(tmp_path, BACKGROUND_NOISE_DIR, "ann", noise, {})
    splits = load_dataset(tmp_path, ["marvin"])
    assert splits.labels == ["_silence_", "_unknown_", "marvin"]
    examples = splits.train + splits.validation + splits.test
    assert sum(e.label == "marvin" for e in examples) == 20
    assert any(e.label == "_silence_" for e in examples)
    assert len(splits.background) == 1 and len(splits.background[0]) == 10 * RATE


# ---------------------------------------------------------------- through PortAudio


def kws_record(
    server: PulseServer, args: list[str], on_line: Callable[[str, subprocess.Popen[str]], None]
    = lambda line, proc: None, timeout: float = 90,
) -> tuple[int, str]:
    """Run ``kws record ARGS`` recording the server's sink monitor; ``on_line`` sees each
    output line as it comes (and may play audio or signal the process)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kws.cli", "record", "--device", DEVICE, *args],
        env=server.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    lines = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            on_line(line, proc)
        rc = proc.wait()
    finally:
        timer.cancel()
        proc.kill()
    return rc, "".join(lines)


def say_on_prompt(server: PulseServer, wav: Path) -> Callable[[str, subprocess.Popen[str]], None]:
    """Play ``wav`` into the sink each time a take starts."""
    def on_line(line: str, proc: subprocess.Popen[str]) -> None:
        if line.rstrip().endswith("now"):
            server.play(wav)
    return on_line


def left_behind(folder: Path) -> list[str]:
    """Temp or hidden files anywhere under ``folder``."""
    return [str(p) for p in folder.rglob("*") if p.name.startswith(".") or ".tmp" in p.name]


@pytest.fixture
def yes_wav(tmp_path: Path, yes: np.ndarray) -> Path:
    wav = tmp_path / "yes.wav"
    sf.write(wav, yes, RATE, subtype="PCM_16")
    return wav


def take_args(out: Path, *more: str) -> list[str]:
    return ["--word", "yes", "--yes", "--countdown", "0", "--speaker", "tester",
            "--out", str(out), *more]


def test_record_two_takes_from_the_microphone(
    pulse: PulseServer, tmp_path: Path, yes: np.ndarray, yes_wav: Path  # noqa: F811
) -> None:
    out = tmp_path / "words"
    rc, log = kws_record(pulse, take_args(out, "--count", "2"), say_on_prompt(pulse, yes_wav))
    assert rc == 0, log
    assert "take 2/2: saved" in log and "kept 2 takes" in log
    takes = sorted((out / "yes").iterdir())
    assert [p.name for p in takes] == ["tester_1.wav", "tester_2.wav"]
    for p in takes:
        clip = read_wav_int16(p)
        assert len(clip) == RATE
        corr, energy = word_match(clip, yes)  # the whole word, through two resamplers
        assert corr > 0.9 and energy > 0.9, (p, corr, energy)
    rows = read_manifest(out)
    assert [(r["file"], r["word"], r["speaker"], r["take"], r["device"], r["sample_rate"])
            for r in rows] == [("yes/tester_1.wav", "yes", "tester", "1", DEVICE, "16000"),
                               ("yes/tester_2.wav", "yes", "tester", "2", DEVICE, "16000")]
    for r in rows:
        assert int(r["device_rate"]) >= 16000 and -8.0 < float(r["peak_dbfs"]) < -5.0
        assert 0 < float(r["speech_start_s"]) < float(r["speech_end_s"]) < 2.0
        assert r["recorded_at"] < r["saved_at"]
    assert left_behind(out) == []


def test_too_quiet_take_is_rejected(
    pulse: PulseServer, tmp_path: Path, yes: np.ndarray  # noqa: F811
) -> None:
    wav = tmp_path / "quiet.wav"
    sf.write(wav, yes // 100, RATE, subtype="PCM_16")
    out = tmp_path / "words"
    rc, log = kws_record(pulse, take_args(out, "--count", "1", "--max-tries", "1"),
                         say_on_prompt(pulse, wav))
    assert rc == 1, log
    assert "take 1/1: rejected: too quiet (peak -4" in log, log
    assert "kept 0 of 1 takes after 1 tries" in log
    assert not (out / "yes").exists() or not list((out / "yes").iterdir())


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGKILL, -9)])
def test_ctrl_c_or_crash_mid_take_keeps_finished_takes_and_numbering_continues(
    pulse: PulseServer, tmp_path: Path, yes: np.ndarray, yes_wav: Path,  # noqa: F811
    signum: int, code: int,
) -> None:
    wav = yes_wav
    out = tmp_path / "words"

    def on_line(line: str, proc: subprocess.Popen[str]) -> None:
        if line.startswith("take 1/2") and line.rstrip().endswith("now"):
            pulse.play(wav)
        elif line.startswith("take 2/2") and line.rstrip().endswith("now"):
            player = pulse.play_async(wav)
            threading.Timer(0.5, proc.send_signal, (signum,)).start()
            player.wait(timeout=30)

    rc, log = kws_record(pulse, take_args(out, "--count", "2"), on_line)
    assert rc == code, log
    assert "take 2/2: saved" not in log
    assert ("kws: interrupted" in log) == (signum == signal.SIGINT)
    first = out / "yes" / "tester_1.wav"
    info = sf.info(str(first))
    assert (info.samplerate, info.frames, info.subtype) == (RATE, RATE, "PCM_16")
    assert word_match(read_wav_int16(first), yes)[0] > 0.9
    assert sorted(os.listdir(out / "yes")) == ["tester_1.wav"]
    assert [r["file"] for r in read_manifest(out)] == ["yes/tester_1.wav"]
    assert left_behind(out) == []

    rc, log = kws_record(pulse, take_args(out, "--count", "1"), say_on_prompt(pulse, wav))
    assert rc == 0, log
    assert sorted(os.listdir(out / "yes")) == ["tester_1.wav", "tester_2.wav"]
    assert [r["take"] for r in read_manifest(out)] == ["1", "2"]


def test_background_chunks_hold_the_played_tone(pulse: PulseServer, tmp_path: Path) -> None:  # noqa: F811
    t = np.arange(8 * RATE) / RATE
    wav = tmp_path / "tone.wav"
    sf.write(wav, 0.25 * np.sin(2 * np.pi * 440 * t), RATE, subtype="PCM_16")
    out = tmp_path / "words"
    player = pulse.play_async(wav)
    try:
        rc, log = kws_record(pulse, ["--negative", "--seconds", "3", "--chunk-seconds", "1",
                                     "--speaker", "tester", "--out", str(out)])
    finally:
        player.wait(timeout=30)
    assert rc == 0, log
    chunks = sorted((out / "_background_noise_").iterdir())
    assert [p.name for p in chunks] == ["tester_1.wav", "tester_2.wav", "tester_3.wav"]
    for p in chunks:
        x = read_wav_int16(p).astype(np.float64) / 32768
        assert len(x) == RATE
        spectrum = np.abs(np.fft.rfft(x * np.hanning(RATE)))
        assert abs(np.argmax(spectrum) - 440) <= 1  # 1 Hz bins
        # a 0.25 full-scale sine: RMS 0.177 (-15.1 dBFS)
        assert abs(20 * np.log10(np.sqrt(np.mean(x * x))) + 15.05) < 0.5
    rows = read_manifest(out)
    assert [r["file"] for r in rows] == [f"_background_noise_/{p.name}" for p in chunks]
    assert {r["word"] for r in rows} == {"_background_noise_"}
    assert left_behind(out) == []


def test_interactive_redo_replay_keep_and_quit(
    pulse: PulseServer, tmp_path: Path, yes_wav: Path  # noqa: F811
) -> None:
    """A terminal session: redo the first take, replay the second, keep it, quit at the
    next; the live meter and countdown show on the terminal."""
    import pty
    import select
    import time

    out = tmp_path / "words"
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kws.cli", "record", "--device", DEVICE, "--word", "yes",
         "--count", "2", "--countdown", "1", "--speaker", "tester", "--out", str(out)],
        env={**pulse.env, "TERM": "xterm", "COLUMNS": "100"}, stdin=slave, stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    answers = ["r", "p", "", "q"]
    screen, prompts, takes, retries = "", 0, 0, 0
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if not select.select([master], [], [], 0.2)[0]:
                continue
            try:
                screen += os.read(master, 65536).decode(errors="replace")
            except OSError:  # the child closed the terminal
                break
            if screen.count("say 'yes' now") > takes:
                takes += 1
                pulse.play(yes_wav)
            if screen.count("[p] play") > prompts:
                os.write(master, (answers[prompts] + "\r").encode())
                prompts += 1
            if screen.count("try again") > retries:  # a take spoilt by a busy machine
                os.write(master, b"\r")
                retries += 1
        rc = proc.wait(timeout=30)
    finally:
        proc.kill()
        os.close(master)
    assert rc == 1 and (takes - retries, prompts) == (3, 4), screen
    assert "say 'yes' in 1" in screen and "dBFS" in screen and "kept 1 takes" in screen
    assert sorted(os.listdir(out / "yes")) == ["tester_1.wav"]
    assert [r["file"] for r in read_manifest(out)] == ["yes/tester_1.wav"]


def test_device_errors_are_one_line(pulse: PulseServer, tmp_path: Path) -> None:  # noqa: F811
    rc, log = kws_record(pulse, take_args(tmp_path, "--rate", "1"))
    # the reason in brackets is PortAudio's own words
    assert rc == 2 and log.startswith(f"kws: error: input device '{DEVICE}' does not support "
                                      "1 Hz (") and log.count("\n") == 1, log
    # no server: the pulse device is gone
    gone = PulseServer(tmp_path / "nothing", 0)
    rc, log = kws_record(gone, take_args(tmp_path))
    assert rc == 2 and log == f"kws: error: no input device '{DEVICE}' (kws record " \
        "--list-devices lists them)\n", log
    rc, log = kws_record(pulse, ["--list-devices"])
    assert rc == 0 and f"  {DEVICE}  (" in log
