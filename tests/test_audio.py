"""kws.audio: loading good files of every kind, refusing bad ones with one clear line."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from kws.audio import float_to_int16, iter_audio_blocks, load_audio, save_wav
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
    """``load_audio`` and (without a length limit) the block reader refuse ``path`` alike."""
    readers = [lambda: load_audio(path, **kwargs)]
    if not kwargs:
        readers.append(lambda: list(iter_audio_blocks(path, block_samples=1000)))
    for read in readers:
        with pytest.raises(KwsError) as info:
            read()
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


# ---------------------------------------------------------------- streaming


def write_assorted(tmp_path: Path, seconds: float = 1.3) -> list[Path]:
    """Files that take every decoding path: exact int16, stereo, float, 24-bit, other rates,
    FLAC and OGG."""
    rng = np.random.default_rng(7)
    n = int(RATE * seconds)
    a = speechlike(rng, n)
    out = []
    for name, data, rate, kw in [
        ("mono.wav", a, RATE, {"subtype": "PCM_16"}),
        ("stereo.wav", np.stack([a, speechlike(rng, n)], axis=1), RATE, {"subtype": "PCM_16"}),
        ("float.wav", a / 32768.0, RATE, {"subtype": "FLOAT"}),
        ("pcm24.wav", a / 32768.0, RATE, {"subtype": "PCM_24"}),
        ("r44100.wav", tone(44100, seconds, 700.0), 44100, {"subtype": "PCM_16"}),
        ("r8000.flac", tone(8000, seconds, 300.0), 8000, {}),
        ("x.ogg", tone(22050, seconds), 22050, {"format": "OGG", "subtype": "VORBIS"}),
    ]:
        sf.write(tmp_path / name, data, rate, **kw)
        out.append(tmp_path / name)
    return out


@pytest.mark.parametrize("block", [1, 999, 16000, 1 << 20])
def test_blocks_concatenate_to_load_audio(tmp_path: Path, block: int) -> None:
    for p in write_assorted(tmp_path, 0.2 if block == 1 else 1.3):
        whole = load_audio(p)
        blocks = list(iter_audio_blocks(p, block_samples=block))
        assert all(b.dtype == np.int16 and b.ndim == 1 for b in blocks)
        assert np.array_equal(np.concatenate(blocks), whole), p.name  # resampled ones too
        if sf.info(str(p)).samplerate == RATE:  # resampled blocks vary in length
            assert max(len(b) for b in blocks) <= block


def test_block_reader_to_other_rate(tmp_path: Path) -> None:
    p = tmp_path / "x.wav"
    sf.write(p, tone(44100, 2.0), 44100, subtype="PCM_16")
    blocks = list(iter_audio_blocks(p, sample_rate=8000, block_samples=3000))
    assert np.array_equal(np.concatenate(blocks), load_audio(p, sample_rate=8000))
    assert len(np.concatenate(blocks)) == 16000


def test_block_reader_has_no_length_limit(tmp_path: Path) -> None:
    p = tmp_path / "long.wav"
    seconds = 601
    with sf.SoundFile(p, "w", RATE, 1, "PCM_16") as f:
        for _ in range(seconds):
            f.write(np.full(RATE, 7, dtype=np.int16))
    assert_error(p, "too long (601.0 s; the limit is 600 s", max_seconds=600.0)
    assert sum(len(b) for b in iter_audio_blocks(p)) == seconds * RATE
    assert len(load_audio(p, max_seconds=None)) == seconds * RATE


def test_block_reader_refuses_bad_block_size(tmp_path: Path) -> None:
    p = tmp_path / "x.wav"
    sf.write(p, tone(RATE), RATE, subtype="PCM_16")
    with pytest.raises(KwsError, match="block size must be positive"):
        iter_audio_blocks(p, block_samples=0)


def test_block_reader_errors_at_call_or_while_reading(tmp_path: Path) -> None:
    # header problems at the call, before any block
    with pytest.raises(KwsError, match="file not found"):
        iter_audio_blocks(tmp_path / "missing.wav")
    # decoding problems while iterating, after the good blocks before them
    x = tone(RATE, 3.0)
    x[2 * RATE] = np.nan
    p = tmp_path / "nan.wav"
    sf.write(p, x, RATE, subtype="FLOAT")
    blocks = iter_audio_blocks(p, block_samples=RATE)
    assert len(next(blocks)) == RATE and len(next(blocks)) == RATE
    with pytest.raises(KwsError, match="NaN or infinite"):
        next(blocks)


def _features_cli(wav: Path, out: Path, *frontend: str) -> np.ndarray:
    from kws.cli import main

    assert main(["features", str(wav), "-o", str(out), *frontend]) == 0
    assert sorted(os.listdir(out.parent)).count(out.name) == 1
    return np.load(out)


@pytest.mark.parametrize("frontend", [(), ("--frontend", "mfcc")])
def test_features_command_streams_bit_exact(tmp_path: Path, frontend: tuple[str, ...]) -> None:
    from kws.commands.frontend_args import frontend_from_args
    from kws.features import compute_features

    rng = np.random.default_rng(11)
    # 10.3 s: several 65536-sample blocks, none on a frame boundary
    a = speechlike(rng, int(RATE * 10.3))
    wav = tmp_path / "long.wav"
    sf.write(wav, a, RATE, subtype="PCM_16")
    wav44 = tmp_path / "long44.wav"
    sf.write(wav44, tone(44100, 6.0, 900.0), 44100, subtype="PCM_16")
    import argparse

    from kws.commands.frontend_args import add_frontend_args
    parser = argparse.ArgumentParser()
    add_frontend_args(parser)
    config = frontend_from_args(parser.parse_args(list(frontend)))
    for src in (wav, wav44):
        got = _features_cli(src, tmp_path / f"{src.stem}.npy", *frontend)
        whole = compute_features(load_audio(src, config.sample_rate), config)
        assert got.dtype == whole.dtype and got.shape == whole.shape and len(got) > 250
        assert np.array_equal(got, whole)


def test_features_command_bad_input_leaves_no_output(tmp_path: Path) -> None:
    from kws.cli import main

    full = tmp_path / "full.wav"
    sf.write(full, tone(RATE, 10.0), RATE, subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out" / "f.npy"
    assert main(["features", str(cut), "-o", str(out)]) == 2
    assert not out.parent.exists() or os.listdir(out.parent) == []
    x = tone(RATE, 10.0)
    x[9 * RATE] = np.inf  # found only in the third block, after frames were written
    bad = tmp_path / "inf.wav"
    sf.write(bad, x, RATE, subtype="FLOAT")
    assert main(["features", str(bad), "-o", str(out)]) == 2
    assert not out.parent.exists() or os.listdir(out.parent) == []


_PEAK_MEMORY = """
import resource, sys
from kws.audio import iter_audio_blocks
from kws.cli import main
n = sum(len(b) for b in iter_audio_blocks(sys.argv[1]))
assert n == int(sys.argv[2]), n
if len(sys.argv) > 3:
    assert main(["features", sys.argv[1], "-o", sys.argv[3]]) == 0
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _write_noise_wav(path: Path, seconds: int) -> int:
    """A long int16 noise file written a minute at a time (never whole in memory)."""
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", RATE, 1, "PCM_16") as f:
        for start in range(0, seconds, 60):
            f.write(rng.integers(-3000, 3000, RATE * min(60, seconds - start), dtype=np.int16))
    return seconds * RATE


def _peak_kib(*args: str) -> int:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _PEAK_MEMORY, *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.split()[-1])


@pytest.mark.slow
def test_three_hours_stream_in_the_memory_of_one_minute(tmp_path: Path) -> None:
    short, long = tmp_path / "minute.wav", tmp_path / "three_hours.wav"
    try:
        n_short = _write_noise_wav(short, 60)
        n_long = _write_noise_wav(long, 3 * 3600)
        assert long.stat().st_size > 345_000_000
        base = _peak_kib(str(short), str(n_short))
        big = _peak_kib(str(long), str(n_long))
        # the file alone would be 337 MiB of int16; the reader stays within a few MiB
        assert big <= base * 1.1, (base, big)
        # kws features streams too: a 3-hour file costs what a 1-minute one does
        base = _peak_kib(str(short), str(n_short), str(tmp_path / "minute.npy"))
        big = _peak_kib(str(long), str(n_long), str(tmp_path / "three_hours.npy"))
        assert big <= base * 1.1, (base, big)
        assert np.load(tmp_path / "three_hours.npy", mmap_mode="r").shape == (539999, 40)
    finally:
        long.unlink(missing_ok=True)
