"""The C MFCC front end against TensorFlow's tf.signal MFCC recipe, plus its own invariants.

Accuracy definition used throughout (our output ``a``, reference ``b``, one clip):

    clip relative error    = max|a - b| / max|b|                      must be <= 1e-3
    element relative error = |a - b| / |b| over elements with |b| >= 5% of max|b|

The C core has its own float32 FFT, log and sqrt (bit-identical on every target), so it
cannot equal TensorFlow's bits; it must agree to float32 rounding.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import random_audio

from kws.features import mfcc_tables as tables_mod
from kws.features import num_frames
from kws.features.mfcc import (
    MfccConfig,
    MfccFrontend,
    log_f32,
    mfcc_features,
    mfcc_tables,
    sqrt_f32,
)

CLIP_TOLERANCE = 1e-3
ELEMENT_TOLERANCE = 1e-3
ELEMENT_FLOOR = 0.05  # elements below 5% of the clip's peak are covered by the clip bound

CONFIGS = [
    MfccConfig(),  # MLPerf Tiny KWS: 30/20 ms, 40 mels, 10 MFCCs, 20-4000 Hz
    MfccConfig(window_ms=40),  # Hello Edge: 40 ms window
    MfccConfig(step_ms=10, num_mel_bins=64, num_mfcc=20, lower_hz=60.0, upper_hz=7600.0),
    MfccConfig(
        window_ms=25,
        step_ms=10,
        fft_size=1024,
        num_mel_bins=32,
        num_mfcc=13,
        lower_hz=0.0,
        upper_hz=8000.0,
    ),
    MfccConfig(sample_rate=8000, num_mel_bins=20, num_mfcc=20, upper_hz=4000.0),
    # 128 mels on a 512-point FFT leaves one mel channel without any FFT bin.
    MfccConfig(
        window_ms=40,
        step_ms=40,
        num_mel_bins=128,
        num_mfcc=40,
        upper_hz=8000.0,
        log_offset=1e-3,
    ),
    MfccConfig(num_mel_bins=128, num_mfcc=13, upper_hz=8000.0),
]


def _id(c: MfccConfig) -> str:
    return (
        f"{c.sample_rate}Hz-{c.window_ms}-{c.step_ms}-fft{c.fft_length}-mel{c.num_mel_bins}"
        f"-mfcc{c.num_mfcc}-{c.lower_hz:g}-{c.upper_hz:g}"
    )


def tf_mfcc(audio: np.ndarray, c: MfccConfig) -> np.ndarray:
    """The MLPerf Tiny / Hello Edge recipe written with tf.signal ops."""
    import tensorflow as tf

    x = tf.constant(audio.astype(np.float32) / np.float32(32768.0))
    stft = tf.signal.stft(
        x,
        frame_length=c.window_size,
        frame_step=c.window_step,
        fft_length=c.fft_length,
        window_fn=tf.signal.hann_window,
        pad_end=False,
    )
    magnitude = tf.abs(stft)
    mel_matrix = tf.signal.linear_to_mel_weight_matrix(
        c.num_mel_bins, c.fft_length // 2 + 1, c.sample_rate, c.lower_hz, c.upper_hz
    )
    mel = tf.tensordot(magnitude, mel_matrix, 1)
    log_mel = tf.math.log(mel + c.log_offset)
    return tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., : c.num_mfcc].numpy()


def float64_mfcc(audio: np.ndarray, c: MfccConfig) -> np.ndarray:
    """The same recipe in float64 numpy: the ground truth both float32 versions approximate."""
    x = audio.astype(np.float64) / 32768.0
    n = 1 + (len(x) - c.window_size) // c.window_step
    frames = np.stack([x[i * c.window_step : i * c.window_step + c.window_size] for i in range(n)])
    spectrum = np.abs(np.fft.rfft(frames * tables_mod.hann_window(c.window_size), c.fft_length))
    mel = spectrum @ tables_mod.mel_weight_matrix(
        c.num_mel_bins, c.fft_length // 2 + 1, c.sample_rate, c.lower_hz, c.upper_hz
    )
    return np.log(mel + c.log_offset) @ tables_mod.dct_matrix(c.num_mel_bins, c.num_mfcc)


def clip_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b).max() / np.abs(b).max())


def element_error(a: np.ndarray, b: np.ndarray) -> float:
    b = b.astype(np.float64)
    big = np.abs(b) >= ELEMENT_FLOOR * np.abs(b).max()
    return float((np.abs(a[big] - b[big]) / np.abs(b[big])).max())


@pytest.fixture(scope="module")
def noise_signals() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2024)
    n = 16000
    out = {
        f"gauss{scale}": np.clip(rng.standard_normal(n) * scale, -32768, 32767).astype(np.int16)
        for scale in (1, 30, 300, 3000, 12000, 40000)
    }
    out["uniform_full_scale"] = rng.integers(-32768, 32768, n).astype(np.int16)
    return out


@pytest.mark.parametrize("config", CONFIGS, ids=_id)
def test_matches_tf_recipe_on_speech_and_noise(config, tflm_clips, noise_signals):
    signals = {**tflm_clips, **noise_signals}
    for name, audio in signals.items():
        # At 8 kHz the 16 kHz fixtures are simply 2 s of (lower-pitched) audio.
        ours = mfcc_features(audio, config)
        ref = tf_mfcc(audio, config)
        assert ours.dtype == np.float32
        assert ours.shape == ref.shape == (num_frames(len(audio), config), config.num_mfcc), name
        assert np.all(np.isfinite(ours)), name
        assert clip_error(ours, ref) <= CLIP_TOLERANCE, (name, clip_error(ours, ref))
        assert element_error(ours, ref) <= ELEMENT_TOLERANCE, (name, element_error(ours, ref))


@pytest.mark.parametrize("config", CONFIGS[:3], ids=_id)
def test_ill_conditioned_signals_no_worse_than_tf(config):
    """A pure tone sweep and full-scale DC put most mel channels at the float32 noise floor
    of the FFT, where log(mel + 1e-6) amplifies rounding; there TF itself is ~1e-3 away from
    the float64 truth.  Require the clip bound against TF and no more error than TF has."""
    rng = np.random.default_rng(7)
    signals = random_audio(rng, 16000)[-3:-1]  # the sweep and the DC clip
    for audio in signals:
        ours = mfcc_features(audio, config)
        ref = tf_mfcc(audio, config)
        truth = float64_mfcc(audio, config)
        assert clip_error(ours, ref) <= CLIP_TOLERANCE
        assert clip_error(ours, truth) <= max(1.5 * clip_error(ref, truth), 1e-6)


@pytest.mark.parametrize("config", CONFIGS, ids=_id)
def test_closer_to_float64_truth_than_tolerance(config, tflm_clips):
    for name, audio in tflm_clips.items():
        ours = mfcc_features(audio, config)
        assert clip_error(ours, float64_mfcc(audio, config)) <= 1e-5, name


@pytest.mark.parametrize("config", CONFIGS, ids=_id)
def test_tables_match_tf(config):
    import tensorflow as tf

    t = mfcc_tables(config)
    assert t.window.dtype == t.twiddles.dtype == t.mel_weights.dtype == np.float32
    assert t.dct_matrix.dtype == t.mel_matrix.dtype == np.float32
    assert t.mel_bin_starts.dtype == t.mel_bin_counts.dtype == np.int16
    assert t.window.shape == (config.window_size,)
    assert t.twiddles.shape == (config.fft_length // 2, 2)
    assert t.mel_matrix.shape == (config.fft_length // 2 + 1, config.num_mel_bins)
    assert t.dct_matrix.shape == (config.num_mel_bins, config.num_mfcc)

    np.testing.assert_allclose(
        t.window, tf.signal.hann_window(config.window_size, periodic=True).numpy(), atol=3e-7
    )
    tf_mel = tf.signal.linear_to_mel_weight_matrix(
        config.num_mel_bins,
        config.fft_length // 2 + 1,
        config.sample_rate,
        config.lower_hz,
        config.upper_hz,
    ).numpy()
    # TF evaluates the triangles in float32 (cancellation near the edges costs ~1e-5);
    # we evaluate them in float64 and round once.
    np.testing.assert_allclose(t.mel_matrix, tf_mel, atol=5e-5)
    eye = tf.eye(config.num_mel_bins)
    tf_dct = tf.signal.mfccs_from_log_mel_spectrograms(eye).numpy()[:, : config.num_mfcc]
    np.testing.assert_allclose(t.dct_matrix, tf_dct, atol=1e-6)

    # The sparse form is exactly the dense matrix.
    dense = np.zeros_like(t.mel_matrix)
    offset = 0
    for ch, (start, count) in enumerate(zip(t.mel_bin_starts, t.mel_bin_counts, strict=True)):
        dense[start : start + count, ch] = t.mel_weights[offset : offset + count]
        offset += count
    assert offset == t.mel_weights.size
    assert np.array_equal(dense, t.mel_matrix)
    assert np.all(t.mel_matrix[0] == 0)  # DC never contributes


def test_empty_mel_channel_gives_log_offset():
    config = CONFIGS[-1]
    t = mfcc_tables(config)
    empty = np.flatnonzero(t.mel_bin_counts == 0)
    assert len(empty) >= 1
    assert np.all(t.mel_matrix[:, empty] == 0)


@pytest.mark.parametrize("config", [CONFIGS[0], CONFIGS[1], CONFIGS[3]], ids=_id)
def test_streaming_in_random_chunks_is_bit_exact(config, tflm_clips, noise_signals):
    rng = np.random.default_rng(11)
    audio = np.concatenate([tflm_clips["yes_1000ms"], noise_signals["gauss3000"]])
    whole = mfcc_features(audio, config)
    for _ in range(5):
        frontend = MfccFrontend(config)
        pieces = []
        pos = 0
        while pos < len(audio):
            size = int(rng.choice([0, 1, 7, 160, 319, 320, 481, 2000, 5000]))
            pieces.append(frontend.process(audio[pos : pos + size]))
            pos += size
        streamed = np.concatenate(pieces)
        assert np.array_equal(streamed, whole)
    # reset() starts a new stream: the same clip again gives the same bits.
    frontend = MfccFrontend(config)
    first = frontend.process(audio[:12345])
    frontend.reset()
    assert np.array_equal(frontend.process(audio[:12345]), first)


def test_frame_count_follows_stft_without_padding():
    c = MfccConfig()
    rng = np.random.default_rng(3)
    for n in (
        0,
        1,
        c.window_size - 1,
        c.window_size,
        c.window_size + c.window_step - 1,
        c.window_size + c.window_step,
        16000,
        16001,
    ):
        audio = rng.integers(-1000, 1000, n).astype(np.int16)
        out = mfcc_features(audio, c)
        expected = 0 if n < c.window_size else 1 + (n - c.window_size) // c.window_step
        assert out.shape == (expected, c.num_mfcc)
        assert num_frames(n, c) == expected


def test_digital_silence_is_exact():
    """All-zero audio: every mel is 0, so every frame is DCT(log(offset)) exactly as the C
    core computes it: c0 = N * log(1e-6) * 2 / sqrt(2N), the rest ~0."""
    c = MfccConfig()
    out = mfcc_features(np.zeros(16000, np.int16), c)
    assert np.all(out == out[0])
    expected = float64_mfcc(np.zeros(16000, np.int16), c)[0]
    np.testing.assert_allclose(out[0], expected, rtol=1e-5, atol=1e-4)


def test_default_config_is_mlperf_tiny():
    c = MfccConfig()
    assert (c.window_size, c.window_step, c.fft_length) == (480, 320, 512)
    assert mfcc_features(np.zeros(16000, np.int16)).shape == (49, 10)
    assert MfccConfig(window_ms=40).fft_length == 1024


BAD_CONFIGS = [
    (dict(sample_rate=0), "sample_rate must be positive"),
    (dict(window_ms=0), "window_ms and step_ms must be positive"),
    (dict(step_ms=-5), "window_ms and step_ms must be positive"),
    (dict(step_ms=40), r"step_ms \(40\) must not exceed window_ms \(30\)"),
    (dict(window_ms=30.5), "window_ms must be an integer"),
    (dict(fft_size=500), "fft_size must be 0 or a power of two"),
    (dict(fft_size=256), r"fft_size \(256\) is smaller than the window \(480 samples\)"),
    (dict(fft_size=4096), "exceeds the C core's KWS_MAX_FFT_SIZE"),
    (dict(window_ms=100, step_ms=10), "exceeds the C core's KWS_MAX_WINDOW_SIZE"),
    (dict(num_mel_bins=0), "num_mel_bins must be 1.."),
    (dict(num_mel_bins=500), r"KWS_MAX_CHANNELS"),
    (dict(num_mfcc=41), r"num_mfcc must be 1..min\(num_mel_bins=40"),
    (dict(num_mfcc=0), "num_mfcc must be"),
    (dict(lower_hz=-1.0), "need 0 <= lower_hz < upper_hz"),
    (dict(lower_hz=4000.0), "need 0 <= lower_hz < upper_hz"),
    (dict(upper_hz=9000.0), r"sample_rate / 2 \(8000\)"),
    (dict(upper_hz=float("nan")), "upper_hz must be a finite number"),
    (dict(log_offset=0.0), "log_offset must be positive"),
    (dict(log_offset=1e-60), "log_offset must be positive in float32"),
    (dict(num_mfcc=True), "num_mfcc must be an integer"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD_CONFIGS, ids=[str(k) for k, _ in BAD_CONFIGS])
def test_bad_config_raises_clear_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MfccConfig(**kwargs)


def test_bad_samples_raise_value_error():
    frontend = MfccFrontend()
    with pytest.raises(ValueError, match="expects int16 samples, got dtype float32"):
        frontend.process(np.zeros(1000, np.float32))
    with pytest.raises(ValueError, match="mono 1-D samples, got shape"):
        frontend.process(np.zeros((1000, 2), np.int16))
    with pytest.raises(ValueError, match="outside -32768..32767"):
        frontend.process(np.array([0, 40000], np.int32))
    # Integer arrays that fit int16 are accepted and give the same result.
    audio = np.random.default_rng(0).integers(-3000, 3000, 4000)
    assert np.array_equal(
        MfccFrontend().process(audio), MfccFrontend().process(audio.astype(np.int16))
    )


def _log_test_values() -> np.ndarray:
    rng = np.random.default_rng(5)
    every_float = rng.integers(1, 0x7F800000, 300_000, dtype=np.uint32).view(np.float32)
    near_one = (1.0 + rng.uniform(-0.3, 0.3, 50_000)).astype(np.float32)
    ulps_around_one = np.nextafter(np.float32(1), np.float32(2)) - np.float32(1)
    steps = np.float32(1) + np.arange(-3000, 3000, dtype=np.float32) * ulps_around_one
    mel_range = np.float32(1e-6) + rng.uniform(0, 200, 50_000).astype(np.float32)
    subnormal = np.arange(1, 5000, dtype=np.uint32).view(np.float32)
    powers = np.float32(2.0) ** np.arange(-149, 128, dtype=np.float32)
    return np.concatenate([every_float, near_one, steps, mel_range, subnormal, powers])


def test_deterministic_log_matches_math_log():
    x = _log_test_values()
    ours = log_f32(x).astype(np.float64)
    truth = np.array([math.log(float(v)) for v in x])
    nonzero = truth != 0
    relative = np.abs(ours[nonzero] - truth[nonzero]) / np.abs(truth[nonzero])
    assert relative.max() < 2e-7, relative.max()
    # In units in the last place of the float32 result: at most one ulp.
    ulp = np.spacing(np.abs(truth).astype(np.float32)).astype(np.float64)
    assert (np.abs(ours - truth)[nonzero] / ulp[nonzero]).max() <= 1.0
    assert log_f32(np.float32(1.0)) == 0.0


def test_deterministic_log_special_values():
    assert log_f32(np.float32(0.0)) == -np.inf
    assert log_f32(np.float32(-0.0)) == -np.inf
    assert np.isnan(log_f32(np.float32(-1.0)))
    assert np.isnan(log_f32(np.float32(np.nan)))
    assert log_f32(np.float32(np.inf)) == np.inf


def test_sqrt_is_correctly_rounded():
    rng = np.random.default_rng(9)
    x = np.concatenate(
        [
            rng.integers(0, 0x7F800000, 300_000, dtype=np.uint32).view(np.float32),
            np.arange(0, 5000, dtype=np.uint32).view(np.float32),  # zero and subnormals
            (np.arange(1, 3000, dtype=np.float32)) ** 2,  # perfect squares
            np.float32(2.0) ** np.arange(-149, 128, dtype=np.float32),
        ]
    )
    assert np.array_equal(sqrt_f32(x).view(np.uint32), np.sqrt(x).view(np.uint32))
    assert np.isnan(sqrt_f32(np.float32(-4.0)))
    assert sqrt_f32(np.float32(np.inf)) == np.inf


def test_bad_config_error_is_also_a_kws_error():
    """The CLI builds configs from user options; it reports KwsError as one clean line."""
    from kws.errors import KwsError

    with pytest.raises(KwsError, match="num_mfcc must be"):
        MfccConfig(num_mfcc=100)
