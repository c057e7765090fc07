"""TTS engines really run: kws.wakeword.tts on the engines installed here."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_tool

from kws.errors import KwsError
from kws.wakeword.tts import (
    Voice,
    installed_engines,
    installed_voices,
    synthesize,
    trim_silence,
    voice_key,
)

SR = 16000


def _espeak_voices() -> list[Voice]:
    require_tool("espeak-ng")
    return installed_voices(["espeak-ng"])


def _rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


def _assert_speech(audio: np.ndarray, *, min_s: float = 0.25, max_s: float = 2.5) -> None:
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert min_s <= len(audio) / SR <= max_s, len(audio) / SR
    assert np.abs(audio).max() <= 1.0
    assert _rms(audio) > 0.01
    # Trimmed: the first and last 10 ms are much quieter than the loudest part.
    peak = np.abs(audio).max()
    assert np.abs(audio[:160]).max() < peak and np.abs(audio[-160:]).max() < peak


def test_espeak_voices_cover_accents_and_variants() -> None:
    voices = _espeak_voices()
    names = {v.name for v in voices}
    assert "espeak-ng" in installed_engines()
    assert {"en-us", "en-gb", "en-us+m3", "en-gb-scotland+f2"} <= names
    assert len(voices) >= 8 * 50
    keys = [voice_key(v) for v in voices]
    assert len(set(keys)) == len(keys)
    assert voice_key(Voice("espeak-ng", "en-us+m3")) == "espeak-ng_en-us_m3"
    assert all(not set("/ :+") & set(k) and "_nohash_" not in k for k in keys)


def test_espeak_speaks_deterministically() -> None:
    _espeak_voices()
    voice = Voice("espeak-ng", "en-us+m3")
    first = synthesize(voice, "hey marvin")
    _assert_speech(first)
    np.testing.assert_array_equal(first, synthesize(voice, "hey marvin"))


def test_espeak_voices_rate_and_pitch_change_the_audio() -> None:
    _espeak_voices()
    base = synthesize(Voice("espeak-ng", "en-us"), "marvin")
    other = synthesize(Voice("espeak-ng", "en-gb-scotland+f3"), "marvin")
    _assert_speech(other)
    assert len(base) != len(other) or not np.array_equal(base, other)
    slow = synthesize(Voice("espeak-ng", "en-us"), "marvin", rate=0.6)
    fast = synthesize(Voice("espeak-ng", "en-us"), "marvin", rate=1.6)
    assert len(slow) > 1.3 * len(base) > 1.3 * 1.3 * len(fast)
    high = synthesize(Voice("espeak-ng", "en-us"), "marvin", pitch=1.5)
    assert _dominant_pitch(high) > 1.2 * _dominant_pitch(base)


def _dominant_pitch(audio: np.ndarray) -> float:
    """Median autocorrelation pitch (Hz) over voiced 40 ms frames."""
    frame, pitches = 640, []
    for start in range(0, len(audio) - frame, frame // 2):
        x = audio[start:start + frame].astype(np.float64)
        if _rms(x) < 0.3 * _rms(audio):
            continue
        corr = np.correlate(x, x, "full")[frame - 1:]
        lo, hi = SR // 400, SR // 60
        pitches.append(SR / (lo + int(np.argmax(corr[lo:hi]))))
    return float(np.median(pitches))


@pytest.mark.parametrize("engine", ["flite", "festival"])
def test_debian_engine_voices_speak(engine: str) -> None:
    require_tool(engine)
    voices = installed_voices([engine])
    assert engine in installed_engines() and voices
    assert {"flite": {"kal16", "slt"}, "festival": {"kal_diphone"}}[engine] <= {
        v.name for v in voices}
    for voice in voices:
        audio = synthesize(voice, "hey marvin")
        _assert_speech(audio)
        np.testing.assert_array_equal(audio, synthesize(voice, "hey marvin"))
    fast = synthesize(voices[0], "hey marvin", rate=1.5)
    assert len(fast) < 0.8 * len(synthesize(voices[0], "hey marvin"))
    with pytest.raises(KwsError, match=f"{engine}:nobody"):
        synthesize(Voice(engine, "nobody"), "marvin")


@pytest.mark.parametrize("engine,module", [("nanotts", "py_nanotts"), ("piper", "piper")])
def test_pypi_engine_voices_speak(engine: str, module: str) -> None:
    pytest.importorskip(module, reason=f"{engine}: pip install -e .[tts]")
    voices = installed_voices([engine])
    assert engine in installed_engines()
    assert {"nanotts": {"en-US", "en-GB"}, "piper": {"en_US-joe-medium"}}[engine] <= {
        v.name for v in voices}
    for voice in voices:
        audio = synthesize(voice, "hey marvin")
        _assert_speech(audio)
        again = synthesize(voice, "hey marvin")
        if engine == "nanotts":  # Pico's excitation noise differs by < -50 dB between calls
            assert len(again) == len(audio) and np.abs(again - audio).max() < 3e-3
    slow = synthesize(voices[0], "hey marvin", rate=0.6)
    fast = synthesize(voices[0], "hey marvin", rate=1.6)
    assert len(slow) > 1.6 * len(fast)
    low = synthesize(voices[0], "hey marvin", pitch=0.8)
    high = synthesize(voices[0], "hey marvin", pitch=1.25)
    assert _dominant_pitch(high) > 1.3 * _dominant_pitch(low)
    with pytest.raises(KwsError, match=f"{engine}:nobody"):
        synthesize(Voice(engine, "nobody"), "marvin")


def test_bad_voice_and_arguments_raise_one_line() -> None:
    _espeak_voices()
    for voice, kwargs in [
        (Voice("espeak-ng", "xx-nothing"), {}),
        (Voice("espeak-ng", "en-us+nobody"), {}),
        (Voice("no-such-engine", "v"), {}),
        (Voice("espeak-ng", "en-us"), {"rate": 0.0}),
        (Voice("espeak-ng", "en-us"), {"pitch": 9.0}),
    ]:
        with pytest.raises(KwsError) as err:
            synthesize(voice, "marvin", **kwargs)
        message = str(err.value)
        assert "\n" not in message and voice.id in message, message
    with pytest.raises(KwsError, match="empty text"):
        synthesize(Voice("espeak-ng", "en-us"), "  ")
    with pytest.raises(KwsError, match="unknown TTS engine 'nope'"):
        installed_voices(["nope"])


def test_trim_silence_keeps_the_sound_and_pads() -> None:
    audio = np.zeros(SR, np.float32)
    audio[4000:8000] = 0.5 * np.sin(np.arange(4000) * 0.3)
    trimmed = trim_silence(audio, SR)
    assert len(trimmed) == 4000 + 2 * 320
    assert trim_silence(np.zeros(SR, np.float32), SR).size == 0
