"""Wake-word data: augmentation towards real speech and the generated dataset on disk."""

from __future__ import annotations

import numpy as np
import pytest

from kws.data.augment import power
from kws.errors import KwsError
from kws.wakeword import augment as A

SR = 16000


def _tone(freq: float, seconds: float = 1.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(y: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.argmax(spectrum) * SR / len(y))


def _band_db(y: np.ndarray, ref: np.ndarray, lo: float, hi: float) -> float:
    f = np.fft.rfftfreq(len(y), 1 / SR)
    sel = (f >= lo) & (f < hi)
    e, e0 = np.abs(np.fft.rfft(y)) ** 2, np.abs(np.fft.rfft(ref)) ** 2
    return float(10 * np.log10(e[sel].sum() / e0[sel].sum()))


@pytest.mark.parametrize("factor", [0.8, 1.25])
def test_tempo_changes_duration_not_pitch(factor: float) -> None:
    y = A.change_tempo(_tone(1000.0), factor)
    assert abs(len(y) - SR / factor) <= 1
    assert abs(_peak_hz(y) - 1000.0) <= 2.0


@pytest.mark.parametrize("semitones", [-2.0, 2.0])
def test_pitch_shift_moves_frequency_keeps_duration(semitones: float) -> None:
    y = A.shift_pitch(_tone(1000.0), semitones, SR)
    assert len(y) == SR
    assert abs(_peak_hz(y) - 1000.0 * 2 ** (semitones / 12)) <= 3.0


@pytest.mark.parametrize("alpha", [0.9, 1.1])
def test_vocal_tract_warp_moves_a_tone_by_alpha(alpha: float) -> None:
    tone = _tone(1000.0)
    y = A.warp_vocal_tract(tone, alpha, SR)
    assert len(y) == len(tone)
    assert abs(_peak_hz(y) - 1000.0 * alpha) <= 3.0
    # A clean tone, not smeared: nearly all energy within 50 Hz of the warped frequency.
    f = np.fft.rfftfreq(len(y), 1 / SR)
    e = np.abs(np.fft.rfft(y)) ** 2
    assert e[np.abs(f - 1000.0 * alpha) < 50].sum() > 0.95 * e.sum()


def test_vocal_tract_warp_keeps_the_band() -> None:
    f = np.array([0.0, 1000.0, 8000.0])
    np.testing.assert_allclose(A.vtlp_warp(f, 1.1, SR), [0.0, 1100.0, 8000.0])
    grid = np.linspace(0, 8000, 801)
    for alpha in (0.88, 1.12):
        assert np.all(np.diff(A.vtlp_warp(grid, alpha, SR)) > 0)
    with pytest.raises(KwsError, match="warp factor"):
        A.warp_vocal_tract(_tone(500.0), 3.0)


def _rt60_of(rir: np.ndarray) -> float:
    """RT60 from the slope of Schroeder's energy decay curve over 20 dB of the tail."""
    energy = np.cumsum((rir**2)[::-1])[::-1]
    edc = 10 * np.log10(energy / energy[0])
    start = int(0.05 * SR)
    stop = start + int(np.argmax(edc[start:] < edc[start] - 20))
    slope = np.polyfit(np.arange(start, stop) / SR, edc[start:stop], 1)[0]
    return float(-60.0 / slope)


@pytest.mark.parametrize("rt60", [0.15, 0.4, 0.8])
def test_room_impulse_response_decays_at_rt60(rt60: float) -> None:
    rir = A.room_impulse_response(np.random.default_rng(3), rt60, SR)
    assert len(rir) == round(1.2 * rt60 * SR)
    assert np.max(np.abs(rir)) == pytest.approx(1.0)
    assert _rt60_of(rir) == pytest.approx(rt60, rel=0.15)


def test_reverb_adds_a_tail_of_the_room_length() -> None:
    click = np.zeros(SR // 4, dtype=np.float32)
    click[100] = 1.0
    rir = A.room_impulse_response(np.random.default_rng(0), 0.5, SR)
    wet = A.reverberate(click, rir)
    assert len(wet) == len(click) + len(rir) - 1
    assert power(wet) == pytest.approx(power(click) * len(click) / len(wet), rel=1e-6)
    # 0.3 s after the click the tail is still there (a dry click is silent).
    assert np.max(np.abs(wet[100 + int(0.3 * SR):])) > 1e-4
    assert np.max(np.abs(wet[100 + len(rir):])) < 1e-6


def test_band_limit_removes_energy_outside_the_corners() -> None:
    noise = np.random.default_rng(1).standard_normal(SR).astype(np.float32) * 0.3
    y = A.band_limit(noise, 300.0, 3000.0, SR)
    assert _band_db(y, noise, 4500.0, 8000.0) < -30.0
    assert _band_db(y, noise, 0.0, 150.0) < -30.0
    assert abs(_band_db(y, noise, 800.0, 2000.0)) < 0.5
    only_low = A.band_limit(noise, None, 3000.0, SR)
    assert abs(_band_db(only_low, noise, 50.0, 2000.0)) < 0.5
    with pytest.raises(KwsError, match="outside"):
        A.band_limit(noise, 9000.0, None, SR)


def test_place_in_window_keeps_the_clip_whole() -> None:
    clip = np.arange(1, 8001, dtype=np.int16)
    for shift in (-4000, 0, 1234, 9000):
        out = A.place_in_window(clip, SR, shift)
        assert len(out) == SR
        start = int(np.flatnonzero(out)[0])
        np.testing.assert_array_equal(out[start:start + 8000], clip)
    assert int(np.flatnonzero(A.place_in_window(clip, SR, 0))[0]) == 4000
    long = np.zeros(3 * SR, dtype=np.float32)
    long[SR + 100: SR + 200] = 1.0
    cut = A.place_in_window(long, SR, 0)
    assert len(cut) == SR and cut.sum() == 100


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 7.5, 20.0])
def test_realistic_noise_is_mixed_at_the_requested_snr(snr_db: float) -> None:
    """With every other step off, the added noise sits at the drawn SNR (within 0.1 dB)."""
    config = A.RealisticConfig(
        tempo_probability=0, pitch_probability=0, warp_probability=0, reverb_probability=0,
        band_probability=0, gain_probability=0, noise_probability=1, snr_db=(snr_db, snr_db),
        shift_ms=0,
    )
    bank = [(np.random.default_rng(2).standard_normal(3 * SR) * 3000).astype(np.int16)]
    clean = A.realistic(_tone(440.0, 0.6), np.random.default_rng(5), [], config)
    noisy = A.realistic(_tone(440.0, 0.6), np.random.default_rng(5), bank, config)
    added = noisy.astype(np.float64) - clean
    assert 10 * np.log10(power(clean) / power(added)) == pytest.approx(snr_db, abs=0.1)


def test_realistic_is_deterministic_and_varied() -> None:
    bank = [(np.random.default_rng(2).standard_normal(2 * SR) * 2000).astype(np.int16)]
    speechlike = _tone(300.0, 0.5) * _tone(3.0, 0.5, 1.0) + _tone(2100.0, 0.5, 0.1)
    outs = [A.realistic(speechlike, np.random.default_rng(s), bank) for s in (7, 7, 8)]
    for out in outs:
        assert out.dtype == np.int16 and len(out) == SR
    np.testing.assert_array_equal(outs[0], outs[1])
    assert not np.array_equal(outs[0], outs[2])
    short = A.realistic(speechlike, np.random.default_rng(1), bank, length=8000)
    assert len(short) == 8000


def test_realistic_config_is_checked() -> None:
    with pytest.raises(KwsError, match="noise_probability"):
        A.RealisticConfig(noise_probability=1.5)
    with pytest.raises(KwsError, match="rt60"):
        A.RealisticConfig(rt60=(0.8, 0.1))
    with pytest.raises(KwsError, match="RT60"):
        A.room_impulse_response(np.random.default_rng(0), 5.0)
