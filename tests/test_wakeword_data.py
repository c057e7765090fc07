"""Wake-word data: augmentation towards real speech and the generated dataset on disk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import read_wav_int16, require_tool

from kws.audio import save_wav
from kws.data import load_dataset
from kws.data.augment import power
from kws.data.splits import speaker_of
from kws.errors import KwsError
from kws.wakeword import augment as A
from kws.wakeword import negatives as neg
from kws.wakeword import tts
from kws.wakeword.generate import GenerateConfig, _engine_counts, generate_dataset, label_of
from kws.wakeword.layout import DatasetLayout

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
    # A reverb tail after the kept part runs on to the window's end and is cut there.
    wet = np.concatenate([clip, np.full(12000, 7, np.int16)])
    out = A.place_in_window(wet, SR, 0, keep=8000)
    np.testing.assert_array_equal(out[4000:12000], clip)
    assert np.all(out[12000:] == 7) and not out[:4000].any()


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


# --- the generated dataset ----------------------------------------------------------------

WORD = "marvin"


def _save(path: Path, audio: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_wav(path, audio)


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory, tflm_clips: dict[str, np.ndarray]
            ) -> dict[str, Path]:
    """A Speech Commands style speech folder (with a folder of the wake word itself, which
    must not become a negative), a plain folder with one long file, and user recordings."""
    root = tmp_path_factory.mktemp("sources")
    yes, no, noise = tflm_clips["yes_1000ms"], tflm_clips["no_1000ms"], tflm_clips["noise_1000ms"]
    sc = root / "sc"
    for i, speaker in enumerate(("aaaa1111", "bbbb2222", "cccc3333")):
        _save(sc / "yes" / f"{speaker}_nohash_0.wav", np.roll(yes, 400 * i))
        _save(sc / "no" / f"{speaker}_nohash_0.wav", np.roll(no, 400 * i))
    _save(sc / WORD / "marvinspeaker_nohash_0.wav", yes)
    _save(sc / "_background_noise_" / "tap.wav", np.tile(noise, 3))
    plain = root / "plain"
    _save(plain / "talk.wav", np.concatenate([yes, no, yes, no[:8000]]))  # 3.5 s: 3 pieces
    rec = root / "rec"
    for i in range(1, 5):
        _save(rec / WORD / f"me_{i}.wav", np.roll(yes, 300 * i))
    _save(rec / "_background_noise_" / "me_1.wav", np.tile(noise, 2))
    return {"sc": sc, "plain": plain, "rec": rec, "root": root}


def _config(tmp: Path, **overrides: object) -> GenerateConfig:
    settings: dict[str, object] = dict(
        word=WORD, seed=3, positives=18, confusables=6, speech=6, tts_speech=4, jobs=2,
        engines=["espeak-ng"], cache_dir=tmp / "cache", copies=3, noise_seconds=2.0,
        recording_copies=3)
    settings.update(overrides)
    return GenerateConfig(**settings)  # type: ignore[arg-type]


def _generate(tmp: Path, sources: dict[str, Path], name: str, **overrides: object
              ) -> tuple[Path, dict]:
    out = tmp / name
    manifest = generate_dataset(_config(tmp, **overrides), out, recordings=sources["rec"],
                                negatives=[sources["sc"], sources["plain"]], progress=False)
    return out, manifest


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory, sources: dict[str, Path]
            ) -> tuple[Path, dict]:
    require_tool("espeak-ng")
    return _generate(tmp_path_factory.mktemp("gen"), sources, "data")


def test_dataset_layout_and_manifest(dataset: tuple[Path, dict]) -> None:
    out, manifest = dataset
    # 6 syntheses x 3 copies + 4 takes (3 training x 3 copies, 1 held out once).
    assert manifest["counts"] == {WORD: 18 + 3 * 3 + 1, "_confusable_": 6, "_speech_": 6,
                                  "_tts_speech_": 4, "_recorded_": 2}
    assert manifest["labels"] == ["_silence_", "_unknown_", WORD]
    assert manifest["syntheses_per_engine"] == {"espeak-ng": 16}
    assert json.loads((out / "manifest.json").read_text()) == manifest
    for folder, count in manifest["counts"].items():
        files = sorted((out / folder).glob("*_nohash_*.wav"))
        assert len(files) == count
        for f in files[:5]:
            audio = read_wav_int16(f)
            assert audio.shape == (16000,) and np.abs(audio.astype(int)).max() > 100
    noise = {p.name for p in (out / "_background_noise_").iterdir()}
    assert {"white-noise.wav", "pink-noise.wav", "brown-noise.wav", "music-0.wav",
            "babble.wav"} <= noise
    # Given noise: the speech folder's background file and the user's negative recording.
    assert {"given-0-tap.wav", "given-1-me-1.wav"} <= noise
    # The wake word's own folder in the speech source is not a negative.
    assert not list((out / "_speech_").glob("marvinspeaker_nohash_*"))
    assert not list(out.parent.glob(".data.*"))  # no temp folders left


def test_dataset_loads_with_voices_held_out(dataset: tuple[Path, dict]) -> None:
    out, _ = dataset
    splits = load_dataset(out, [WORD])
    assert splits.labels == ["_silence_", "_unknown_", WORD]
    groups: dict[str, set[str]] = {}
    for name in ("train", "validation", "test"):
        examples = splits.split(name)
        assert any(ex.label == WORD for ex in examples), name
        assert any(ex.label == "_unknown_" for ex in examples), name
        groups[name] = {speaker_of(ex.path) for ex in examples if ex.label == WORD}
    assert not groups["train"] & groups["validation"]
    assert not groups["train"] & groups["test"]
    assert not groups["validation"] & groups["test"]
    # The user's takes: one held out (once) for validation, the others only in training.
    takes = [ex for ex in splits.validation if speaker_of(ex.path).startswith("rec-")]
    assert len(takes) == 1
    assert sum(speaker_of(ex.path).startswith("rec-") for ex in splits.train) == 9


def test_same_seed_same_bytes_and_cache_is_used(
        dataset: tuple[Path, dict], sources: dict[str, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    out, _ = dataset
    cache = out.parent / "cache"
    assert list(cache.rglob("*.npy"))

    def no_tts(*args: object, **kwargs: object) -> np.ndarray:
        raise AssertionError("synthesized although cached")

    # One process (the patch holds there): every synthesis comes from the cache.
    monkeypatch.setattr(tts, "synthesize", no_tts)
    again, _ = _generate(tmp_path, sources, "again", jobs=1, cache_dir=cache)
    assert _tree(again) == _tree(out)
    monkeypatch.undo()
    other, _ = _generate(tmp_path, sources, "other", seed=4, cache_dir=cache)
    assert _tree(other) != _tree(out)


def test_bad_inputs_name_the_file_and_leave_nothing(
        sources: dict[str, Path], tmp_path: Path) -> None:
    require_tool("espeak-ng")
    config = _config(tmp_path, positives=3, confusables=0, speech=2)
    out = tmp_path / "out"
    with pytest.raises(KwsError, match="nowhere: no such folder"):
        generate_dataset(config, out, negatives=[tmp_path / "nowhere"], progress=False)
    bad = tmp_path / "bad"
    shutil.copytree(sources["plain"], bad)
    (bad / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    with pytest.raises(KwsError, match="broken.wav"):
        generate_dataset(config, out, negatives=[bad], progress=False)
    shutil.rmtree(bad)
    shutil.copytree(sources["plain"], bad)
    whole = (bad / "talk.wav").read_bytes()
    (bad / "talk.wav").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(KwsError, match="talk.wav: truncated"):
        generate_dataset(config, out, negatives=[bad], progress=False)
    # NaN samples pass the listing and stop a worker: the error still names the file.
    shutil.rmtree(bad)
    bad.mkdir()
    sf.write(str(bad / "nan.wav"), np.full(SR, np.nan, np.float32), SR, subtype="FLOAT")
    with pytest.raises(KwsError, match="nan.wav: contains NaN"):
        generate_dataset(_config(tmp_path, positives=3, confusables=0, speech=1), out,
                         negatives=[bad], progress=False)
    with pytest.raises(KwsError, match="recordings folder not found"):
        generate_dataset(config, out, recordings=tmp_path / "none", progress=False)
    with pytest.raises(KwsError, match="nonoise.wav: noise file not found"):
        generate_dataset(config, out, noise=[tmp_path / "nonoise.wav"], progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad"]
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(KwsError, match="holds files kws did not write"):
        generate_dataset(config, foreign, progress=False)
    with pytest.raises(KwsError, match="wake word"):
        generate_dataset(_config(tmp_path, word="mar/vin"), out, progress=False)
    with pytest.raises(KwsError, match="positives"):
        GenerateConfig(word=WORD, positives=0)


def test_engine_shares_cap_slow_engines() -> None:
    counts = _engine_counts({"espeak-ng": 800, "flite": 5, "piper": 1}, 140, 0.05)
    assert sum(counts.values()) == 140
    assert counts["piper"] == 7
    assert counts["espeak-ng"] == round((140 - 7) * 8 / 13)
    assert _engine_counts({"piper": 2}, 10, 0.1) == {"piper": 10}  # nothing else to use


def _layout(seed: int) -> DatasetLayout:
    layout = DatasetLayout(seed, (10.0, 10.0))
    for i in range(80):
        layout.name("w", f"espeak-ng_v{i}", "espeak-ng")
    for _ in range(30):
        layout.name("w", "piper_joe", "piper")
        layout.name("w", "nanotts_a", "nanotts")
        layout.name("w", "nanotts_b", "nanotts")
    for i in range(20):
        layout.name("_speech_", f"spk{i}", "_speech_")
    layout.name("w", "rec-me-1", "recordings", "validation")
    return layout


def test_layout_holds_out_whole_voices_and_keeps_small_engines_in_training() -> None:
    lists = _layout(0).split_lists()
    assert lists == _layout(0).split_lists()
    assert lists != _layout(1).split_lists()
    groups = {s: {speaker_of(p) for p in paths} for s, paths in lists.items()}
    assert not groups["validation"] & groups["testing"]
    held = groups["validation"] | groups["testing"]
    assert not held & {"piper_joe", "nanotts_a", "nanotts_b"}
    assert "rec-me-1" in groups["validation"]
    for split in ("validation", "testing"):
        # 10 % of the folder's 171 clips, in whole voices; 10 % of the 20 speakers.
        assert sum(p.startswith("w/") for p in lists[split]) == 18
        assert sum(p.startswith("_speech_/") for p in lists[split]) == 2


def test_label_of_word() -> None:
    assert label_of("Hey  KWS") == "hey_kws"
    with pytest.raises(KwsError, match="letters"):
        label_of("_x")


# --- generated backgrounds -----------------------------------------------------------------


@pytest.mark.parametrize("exponent", [0.0, 1.0, 2.0])
def test_coloured_noise_has_its_spectral_slope(exponent: float) -> None:
    noise = neg.coloured_noise(np.random.default_rng(0), 8.0, exponent)
    assert noise.dtype == np.int16 and np.abs(noise.astype(int)).max() == 16384
    x = noise.astype(np.float64)
    f = np.fft.rfftfreq(len(x), 1 / SR)
    psd = np.abs(np.fft.rfft(x)) ** 2
    sel = (f > 100) & (f < 6000)
    slope = np.polyfit(np.log10(f[sel]), 10 * np.log10(psd[sel]), 1)[0]
    assert slope == pytest.approx(-10 * exponent, abs=0.5)  # dB per decade


def test_music_and_babble_backgrounds() -> None:
    rng = np.random.default_rng(1)
    music = neg.music_like(rng, 3.0)
    assert music.dtype == np.int16 and len(music) == 3 * SR
    # Tonal: a few spectral peaks hold most of the energy (noise spreads it).
    psd = np.sort(np.abs(np.fft.rfft(music.astype(np.float64))) ** 2)[::-1]
    assert psd[: len(psd) // 100].sum() > 0.5 * psd.sum()
    clips = [_tone(300.0, 0.4), _tone(500.0, 0.3)]
    talk = neg.babble(rng, clips, 2.0, talkers=4)
    assert len(talk) == 2 * SR and power(talk) > 0
    with pytest.raises(KwsError, match="babble"):
        neg.babble(rng, [], 1.0)


def test_speech_pieces_cut_long_files(sources: dict[str, Path]) -> None:
    pieces = neg.speech_pieces([sources["sc"], sources["plain"]], exclude_labels=[WORD])
    talk = [p for p in pieces if p.path.name == "talk.wav"]
    assert [(p.start, p.frames) for p in talk] == [(0, SR), (SR, SR), (2 * SR, SR)]
    assert {p.group for p in pieces if p.path.parent.name == "yes"} == {
        "aaaa1111", "bbbb2222", "cccc3333"}
    assert all(p.path.parent.name not in (WORD, "_background_noise_") for p in pieces)
    second = neg.read_piece(talk[1])
    np.testing.assert_array_equal(second, read_wav_int16(talk[1].path)[SR:2 * SR])
