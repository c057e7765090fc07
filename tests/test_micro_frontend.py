"""The C micro frontend against TensorFlow's own audio_microfrontend op: equal bits."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_audio

from kws.features import num_frames
from kws.features.micro import MicroFrontend, MicroFrontendConfig, micro_features

CONFIGS = [
    MicroFrontendConfig(),  # micro_speech: 30/20/40, PCAN on
    MicroFrontendConfig(enable_pcan=False),
    MicroFrontendConfig(step_ms=10),  # microWakeWord: 30/10/40
    MicroFrontendConfig(step_ms=10, enable_pcan=False),
    MicroFrontendConfig(window_ms=25, step_ms=10, num_channels=32),  # the op's defaults
    MicroFrontendConfig(window_ms=40, step_ms=20, num_channels=64, lower_hz=20, upper_hz=7900),
    MicroFrontendConfig(window_ms=64, step_ms=16, num_channels=80, upper_hz=7000),
    MicroFrontendConfig(window_ms=16, step_ms=8, num_channels=20, enable_log=False),
]


def tf_microfrontend(audio: np.ndarray, c: MicroFrontendConfig) -> np.ndarray:
    import tensorflow as tf
    from tensorflow.lite.experimental.microfrontend.python.ops import (
        audio_microfrontend_op as op,
    )

    out = op.audio_microfrontend(
        tf.constant(audio, tf.int16),
        sample_rate=c.sample_rate,
        window_size=c.window_ms,
        window_step=c.step_ms,
        num_channels=c.num_channels,
        upper_band_limit=c.upper_hz,
        lower_band_limit=c.lower_hz,
        smoothing_bits=c.smoothing_bits,
        even_smoothing=c.even_smoothing,
        odd_smoothing=c.odd_smoothing,
        min_signal_remaining=c.min_signal_remaining,
        enable_pcan=c.enable_pcan,
        pcan_strength=c.pcan_strength,
        pcan_offset=c.pcan_offset,
        gain_bits=c.gain_bits,
        enable_log=c.enable_log,
        scale_shift=c.scale_shift,
        left_context=0,
        right_context=0,
        frame_stride=1,
        zero_padding=False,
        out_scale=1,
        out_type=tf.uint16,
    )
    return out.numpy()


def _id(c: MicroFrontendConfig) -> str:
    flags = f"pcan{int(c.enable_pcan)}-log{int(c.enable_log)}"
    return f"{c.window_ms}-{c.step_ms}-{c.num_channels}-{flags}"


@pytest.mark.parametrize("config", CONFIGS, ids=_id)
def test_equal_to_tf_op_on_real_clips(config, tflm_clips):
    for name, audio in tflm_clips.items():
        ours = micro_features(audio, config)
        ref = tf_microfrontend(audio, config)
        assert ours.dtype == np.uint16
        assert ours.shape == ref.shape, name
        assert np.array_equal(ours, ref), f"{name}: {np.count_nonzero(ours != ref)} values differ"


@pytest.mark.parametrize("config", CONFIGS[:5], ids=_id)
def test_equal_to_tf_op_on_random_audio(config):
    rng = np.random.default_rng(1234)
    for n in (16000, 12345):
        for audio in random_audio(rng, n):
            assert np.array_equal(micro_features(audio, config), tf_microfrontend(audio, config))


def test_random_lengths_and_frame_count():
    rng = np.random.default_rng(7)
    config = MicroFrontendConfig()
    for n in (0, 1, 479, 480, 481, 799, 800, 1120, 5000):
        audio = rng.integers(-2000, 2000, n).astype(np.int16)
        ours = micro_features(audio, config)
        assert ours.shape == (num_frames(n, config), 40)
        assert np.array_equal(ours, tf_microfrontend(audio, config).reshape(ours.shape))


def test_streaming_in_chunks_gives_same_bits(tflm_clips):
    rng = np.random.default_rng(3)
    audio = np.concatenate(list(tflm_clips.values()))
    whole = micro_features(audio, MicroFrontendConfig(step_ms=10))
    fe = MicroFrontend(MicroFrontendConfig(step_ms=10))
    frames, pos = [], 0
    while pos < len(audio):
        n = int(rng.integers(1, 700))
        frames.append(fe.process(audio[pos : pos + n]))
        pos += n
    assert np.array_equal(np.concatenate(frames), whole)
    # reset() starts a fresh stream: same output as a new frontend.
    fe.reset()
    assert np.array_equal(fe.process(audio), whole)


def test_config_over_capacity_is_refused():
    with pytest.raises(ValueError, match="capacity"):
        MicroFrontend(MicroFrontendConfig(window_ms=100, step_ms=10))


def test_non_int16_samples_are_refused():
    with pytest.raises(ValueError, match="int16"):
        micro_features(np.zeros(1000, np.float32))
    with pytest.raises(ValueError, match="1-D"):
        micro_features(np.zeros((1000, 2), np.int16))
    with pytest.raises(ValueError, match="outside"):
        micro_features(np.full(1000, 40000, np.int32))


# (field, bad value, what the message says); every message also names the field.
BAD_VALUES = [
    ("sample_rate", 0, "sample_rate must be positive, got 0"),
    ("window_ms", 0, "window_ms and step_ms must be positive"),
    ("step_ms", -5, "window_ms and step_ms must be positive"),
    ("step_ms", 40, r"step_ms \(40\) must not exceed window_ms \(30\)"),
    ("window_ms", 30.5, "window_ms must be an integer, got 30.5"),
    ("window_ms", 100, r"window_ms 100 at 16000 Hz: 1600 samples exceeds the C core's "
     r"KWS_MAX_WINDOW_SIZE \(\d+\), its build-time capacity"),
    ("num_channels", 0, r"num_channels must be 1\.\.\d+ \(KWS_MAX_CHANNELS\), got 0"),
    ("num_channels", 500, r"num_channels must be 1\.\.\d+ \(KWS_MAX_CHANNELS\), got 500"),
    ("num_channels", True, "num_channels must be an integer, got True"),
    ("lower_hz", -1.0, "need 0 <= lower_hz < upper_hz < sample_rate / 2"),
    ("lower_hz", 7600.0, "lower_hz=7600.0, upper_hz=7500.0"),
    ("upper_hz", 8000.0, r"sample_rate / 2 \(8000\), got lower_hz=125.0, upper_hz=8000.0"),
    ("sample_rate", 8000, "upper_hz=7500.0 at sample_rate 8000"),
    ("upper_hz", float("inf"), "upper_hz must be a finite number, got inf"),
    ("smoothing_bits", -1, r"smoothing_bits must be 0\.\.31 \(a uint32 shift\), got -1"),
    ("smoothing_bits", 32, "smoothing_bits must be 0..31"),
    ("even_smoothing", 1.5, r"even_smoothing must be 0\.\.1 \(a Q14 fraction\), got 1.5"),
    ("odd_smoothing", -0.1, "odd_smoothing must be 0..1"),
    ("min_signal_remaining", 2.0, "min_signal_remaining must be 0..1"),
    ("even_smoothing", "0.025", "even_smoothing must be a finite number, got '0.025'"),
    ("enable_pcan", 1, "enable_pcan must be true or false, got 1"),
    ("enable_log", "yes", "enable_log must be true or false"),
    ("pcan_offset", 0.0, "pcan_offset must be positive, got 0.0"),
    ("pcan_strength", -0.5, "pcan_strength must not be negative, got -0.5"),
    # 512-point FFT: correction 3 bits, so the SNR shift gain_bits - 15 must be 0..63.
    ("gain_bits", 14, r"gain_bits must be 15\.\.78 for a 512-point FFT .*, got 14"),
    ("gain_bits", 79, "gain_bits must be 15..78"),
    ("scale_shift", 12, r"scale_shift must be 0\.\.11 .*, got 12"),
    ("scale_shift", -1, "scale_shift must be 0..11"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_VALUES,
                         ids=[f"{f}={v!r}" for f, v, _ in BAD_VALUES])
def test_bad_config_raises_error_naming_field_and_value(field, value, message):
    from kws.errors import KwsError

    with pytest.raises(KwsError, match="^micro frontend config: .*" + message) as info:
        MicroFrontendConfig(**{field: value})
    assert isinstance(info.value, ValueError) and field in str(info.value)


def test_limits_that_only_matter_for_enabled_stages():
    """PCAN and log parameters are not checked while their stage is off (the C core
    ignores them then), and the boundary values are accepted."""
    MicroFrontendConfig(enable_pcan=False, gain_bits=0, pcan_offset=0.0)
    MicroFrontendConfig(enable_log=False, scale_shift=20)
    MicroFrontendConfig(gain_bits=15, scale_shift=11, smoothing_bits=0, even_smoothing=1.0,
                        lower_hz=0.0, upper_hz=7999.0)


def test_config_knows_its_kind_and_width():
    config = MicroFrontendConfig(num_channels=32)
    assert config.kind == "micro" and config.num_features == 32
    assert config.to_dict()["type"] == "micro"
    assert micro_features(np.zeros(16000, np.int16), config).shape == (49, 32)
