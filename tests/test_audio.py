"""kws.audio: loading good files of every kind, refusing bad ones with one clear line."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from kws.audio import float_to_int16, load_audio, save_wav
from kws.errors import KwsError

RATE = 16000


def tone(rate: int, seconds: float = 1.0, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return amp * np.sin(2 * np.pi * freq * t)


def speechlike(rng: np.random.Generator, n: int = RATE) -> np.ndarray:
    return (rng.standard_normal(n) * 4000).clip(-32768, 32767).astype(np.int16)


# ---------------------------------------------------------------- good files


def test_int16_wav_16k_is_returned_sample_for_sample(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    for i in range(5):
        a = speechlike(rng, int(rng.integers(100, 40000)))
        a[:2] = (-32768, 32767)
        p = tmp_path / f"a{i}.wav"
        sf.write(p, a, RATE, subtype="PCM_16")
        out = load_audio(p)
        assert out.dtype == np.int16 and out.ndim == 1
        assert np.array_equal(out, a)


@pytest.mark.parametrize(("fmt", "ext", "subtype"), [
    ("WAV", "wav", "PCM_16"), ("FLAC", "flac", "PCM_16"), ("WAV", "wav", "FLOAT"),
    ("WAV", "wav", "PCM_24"),
])
def test_lossless_formats_round_trip(tmp_path: Path, fmt: str, ext: str, subtype: str) -> None:
    a = speechlike(np.random.default_rng(2))
    p = tmp_path / f"x.{ext}"
    sf.write(p, a.astype(np.float64) / 32768.0, RATE, format=fmt, subtype=subtype)
    assert np.array_equal(load_audio(p), a)


def test_ogg_vorbis_loads_close_to_source(tmp_path: Path) -> None:
    x = tone(RATE)
    p = tmp_path / "x.ogg"
    sf.write(p, x, RATE, format="OGG", subtype="VORBIS")
    out = load_audio(p)
    assert out.dtype == np.int16 and abs(len(out) - RATE) <= 64
    ref = float_to_int16(x)[: len(out)]
    # lossy codec: the tone comes back with small error
    err = np.sqrt(np.mean((out[: len(ref)].astype(float) - ref) ** 2))
    assert err < 0.05 * np.sqrt(np.mean(ref.astype(float) ** 2))


def test_stereo_is_averaged_to_mono(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    left, right = speechlike(rng), speechlike(rng)
    p = tmp_path / "stereo.wav"
    sf.write(p, np.stack([left, right], axis=1), RATE, subtype="PCM_16")
    out = load_audio(p)
    expected = np.round((left.astype(float) + right) / 2).astype(np.int16)
    assert out.shape == (RATE,) and np.array_equal(out, expected)
    # float stereo takes the resampling-free float path
    pf = tmp_path / "stereo_float.wav"
    sf.write(pf, np.stack([left, right], axis=1) / 32768.0, RATE, subtype="FLOAT")
    assert np.array_equal(load_audio(pf), expected)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_other_rates_are_resampled_to_16k(tmp_path: Path, rate: int) -> None:
    p = tmp_path / f"r{rate}.wav"
    sf.write(p, tone(rate, 1.0, 1000.0), rate, subtype="PCM_16")
    out = load_audio(p)
    assert len(out) == RATE
    spectrum = np.abs(np.fft.rfft(out[2000:14000].astype(float) * np.hanning(12000)))
    peak_hz = np.argmax(spectrum) * RATE / 12000
    assert abs(peak_hz - 1000.0) < 3.0
    # amplitude is kept (0.5 full scale)
    assert abs(np.max(np.abs(out[2000:14000])) / 32768 - 0.5) < 0.01


def test_float_out_of_range_is_clipped(tmp_path: Path) -> None:
    p = tmp_path / "loud.wav"
    sf.write(p, np.array([2.0, -2.0, 0.5, -1.0, 0.99999]), RATE, subtype="FLOAT")
    assert load_audio(p).tolist() == [32767, -32768, 16384, -32768, 32767]


def test_load_to_other_target_rate(tmp_path: Path) -> None:
    p = tmp_path / "x.wav"
    sf.write(p, tone(RATE), RATE, subtype="PCM_16")
    assert len(load_audio(p, sample_rate=8000)) == 8000


# ---------------------------------------------------------------- bad files


def assert_error(path: Path, words: str, **kwargs) -> None:
    with pytest.raises(KwsError) as info:
        load_audio(path, **kwargs)
    msg = str(info.value)
    assert msg.startswith(f"{path}: "), msg
    assert words in msg[len(str(path)) :], msg
    assert "\n" not in msg


def test_missing_file(tmp_path: Path) -> None:
    assert_error(tmp_path / "nope.wav", "not found")


def test_directory(tmp_path: Path) -> None:
    assert_error(tmp_path, "directory")


def test_zero_byte_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    assert_error(p, "empty file")


def test_wav_with_no_samples(tmp_path: Path) -> None:
    p = tmp_path / "nosamples.wav"
    sf.write(p, np.zeros(0, dtype=np.int16), RATE, subtype="PCM_16")
    assert p.stat().st_size > 0
    assert_error(p, "no audio samples")


def test_garbage_is_unreadable(tmp_path: Path) -> None:
    p = tmp_path / "garbage.wav"
    p.write_bytes(b"this is not audio at all " * 40)
    assert_error(p, "unreadable or unsupported audio format")


def test_unsupported_format(tmp_path: Path) -> None:
    p = tmp_path / "clip.mp4"
    p.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    assert_error(p, "unsupported")


@pytest.mark.parametrize(("fmt", "ext", "problem"), [
    ("WAV", "wav", "truncated: header declares 64000 bytes"),
    ("FLAC", "flac", "truncated or corrupt"),
    ("OGG", "ogg", "truncated or corrupt"),
])
def test_truncated_files(tmp_path: Path, fmt: str, ext: str, problem: str) -> None:
    full = tmp_path / f"full.{ext}"
    sf.write(full, tone(RATE, 2.0), RATE, format=fmt)
    data = full.read_bytes()
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(data[: len(data) // 2])
    assert_error(cut, problem)


def test_nan_and_inf_samples(tmp_path: Path) -> None:
    for bad in (np.nan, np.inf, -np.inf):
        x = tone(RATE)
        x[100] = bad
        p = tmp_path / f"bad{bad}.wav"
        sf.write(p, x, RATE, subtype="FLOAT")
        assert_error(p, "NaN or infinite")


def test_oversized_file(tmp_path: Path) -> None:
    p = tmp_path / "long.wav"
    sf.write(p, np.zeros(RATE * 3, dtype=np.int16), RATE, subtype="PCM_16")
    assert_error(p, "too long", max_seconds=2.0)
    assert len(load_audio(p, max_seconds=None)) == RATE * 3
    assert len(load_audio(p)) == RATE * 3  # default limit is far above 3 s


# ---------------------------------------------------------------- save_wav


def test_save_wav_round_trip_and_atomic(tmp_path: Path) -> None:
    a = speechlike(np.random.default_rng(5), 12345)
    p = save_wav(tmp_path / "out.wav", a, RATE)
    assert np.array_equal(load_audio(p), a)
    assert sf.info(str(p)).subtype == "PCM_16"
    assert os.listdir(tmp_path) == ["out.wav"]  # no temp file left behind
    save_wav(p, np.array([0.5, -1.0, 2.0]), RATE)  # float input, overwrite
    assert load_audio(p).tolist() == [16384, -32768, 32767]


def test_save_wav_refuses_bad_input_and_leaves_old_file(tmp_path: Path) -> None:
    p = save_wav(tmp_path / "keep.wav", np.ones(10, dtype=np.int16))
    before = p.read_bytes()
    for bad in (np.array([0.1, np.nan]), np.zeros(0, dtype=np.int16), np.zeros((2, 2, 2)),
                np.array([40000], dtype=np.int32)):
        with pytest.raises(KwsError) as info:
            save_wav(p, bad)
        assert str(p) in str(info.value)
    assert p.read_bytes() == before
    assert os.listdir(tmp_path) == ["keep.wav"]
    with pytest.raises(KwsError, match="does not exist"):
        save_wav(tmp_path / "no_such_dir" / "x.wav", np.ones(3, dtype=np.int16))
