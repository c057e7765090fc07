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
