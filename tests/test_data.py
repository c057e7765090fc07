"""kws.data: loaders and splits, augmentation, feature pipeline and cache, download."""

from __future__ import annotations

import csv
import hashlib
import io
import math
import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from kws.data import (
    SILENCE_LABEL,
    UNKNOWN_AUTO_RATIO,
    UNKNOWN_LABEL,
    AugmentConfig,
    DatasetSplits,
    Example,
    apply_gain,
    augment_clip,
    augmented_epoch,
    download_speech_commands,
    extract_features,
    frontend_calls,
    load_clip,
    load_dataset,
    mix_at_snr,
    power,
    speaker_split,
    time_shift,
    which_set,
)
from kws.errors import KwsError
from kws.features import MfccConfig, MicroFrontendConfig, compute_features, to_model_input

RATE = 16000
REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "datasets" / "speech_commands_sample"
WORDS = ["yes", "no"]
OTHER_WORDS = ["up", "cat", "dog"]
FREQ = {"yes": 300.0, "no": 500.0, "up": 700.0, "cat": 900.0, "dog": 1100.0}


def word_clip(word: str, speaker_index: int, n: int = RATE) -> np.ndarray:
    t = np.arange(n) / RATE
    rng = np.random.default_rng(speaker_index)
    x = 6000 * np.sin(2 * np.pi * FREQ[word] * t) + rng.standard_normal(n) * 300
    return x.astype(np.int16)


def make_speech_commands(root: Path, speakers: int = 30, silence_folder: int = 0) -> Path:
    """A tiny Speech Commands tree: 2 clips per speaker and word, 2 noise files."""
    for w in WORDS + OTHER_WORDS:
        (root / w).mkdir(parents=True)
        for s in range(speakers):
            spk = hashlib.md5(f"spk{s}".encode()).hexdigest()[:8]
            for k in range(2):
                sf.write(root / w / f"{spk}_nohash_{k}.wav", word_clip(w, s), RATE)
    noise = root / "_background_noise_"
    noise.mkdir()
    rng = np.random.default_rng(99)
    sf.write(noise / "white.wav", (rng.standard_normal(3 * RATE) * 2000).astype(np.int16), RATE)
    sf.write(noise / "hum.wav", (3000 * np.sin(np.arange(2 * RATE) * 0.05)).astype(np.int16),
             RATE)
    if silence_folder:
        (root / "_silence_").mkdir()
        for i in range(silence_folder):
            sf.write(root / "_silence_" / f"{1000 + i}.wav", np.zeros(RATE, np.int16), RATE)
    return root


@pytest.fixture(scope="module")
def sc_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_speech_commands(tmp_path_factory.mktemp("sc"))


def all_examples(ds: DatasetSplits) -> list[Example]:
    return ds.train + ds.validation + ds.test


def same_splits(a: DatasetSplits, b: DatasetSplits) -> bool:
    return (a.labels, a.train, a.validation, a.test) == (b.labels, b.train, b.validation, b.test)


def tf_which_set(name: str, val: float, test: float) -> str:
    # Written out from the published rule in TF speech_commands input_data.py.
    import re

    base = re.sub(r"_nohash_.*$", "", name)
    h = int(hashlib.sha1(base.encode()).hexdigest(), 16)
    pct = (h % (2**27)) * (100.0 / (2**27 - 1))
    return "validation" if pct < val else "testing" if pct < val + test else "training"


# ---------------------------------------------------------------- splits


def test_which_set_matches_rule_and_percentages() -> None:
    rng = np.random.default_rng(0)
    names = [f"{rng.integers(1 << 32):08x}_nohash_{rng.integers(5)}.wav" for _ in range(20000)]
    got = [which_set(n, 10.0, 20.0) for n in names]
    assert got == [tf_which_set(n, 10.0, 20.0) for n in names]
    c = Counter(got)
    assert abs(c["validation"] / len(names) - 0.10) < 0.01
    assert abs(c["testing"] / len(names) - 0.20) < 0.01
    # the speaker prefix alone decides
    first = which_set("abcd1234_nohash_0.wav", 10, 10)
    assert first == which_set("x/abcd1234_nohash_7.wav", 10, 10)


def test_speech_commands_labels_and_hash_split(sc_tree: Path) -> None:
    ds = load_dataset(sc_tree, WORDS)
    assert ds.labels == [SILENCE_LABEL, UNKNOWN_LABEL, "yes", "no"]
    assert len(ds.background) == 2 and all(b.dtype == np.int16 for b in ds.background)
    for name, split in (("training", ds.train), ("validation", ds.validation),
                        ("testing", ds.test)):
        for ex in split:
            assert ex.label in ds.labels
            if ex.label in WORDS:
                assert ex.path.parent.name == ex.label
                assert ex.speaker == ex.path.name.split("_nohash_")[0]
                assert which_set(ex.path, 10, 10) == name
            if ex.label == UNKNOWN_LABEL:
                assert ex.path.parent.name in OTHER_WORDS
    n_words = sum(1 for ex in all_examples(ds) if ex.label in WORDS)
    assert n_words == 2 * 30 * len(WORDS)  # every known clip is used once


def test_unknown_and_silence_proportions(sc_tree: Path) -> None:
    ds = load_dataset(sc_tree, WORDS, unknown_percentage=25.0, silence_percentage=15.0,
                      split="speaker", validation_percentage=20, testing_percentage=20)
    for split in (ds.train, ds.validation, ds.test):
        c = Counter(ex.label for ex in split)
        n_known = c["yes"] + c["no"]
        assert n_known > 0
        assert c[UNKNOWN_LABEL] == math.ceil(n_known * 0.25)
        assert c[SILENCE_LABEL] == math.ceil(n_known * 0.15)
    every = load_dataset(sc_tree, WORDS, unknown_percentage=None, silence_percentage=0)
    unknown = [ex for ex in all_examples(every) if ex.label == UNKNOWN_LABEL]
    assert len(unknown) == len({ex.path for ex in unknown}) == 2 * 30 * len(OTHER_WORDS)
    assert not [ex for ex in all_examples(every) if ex.label == SILENCE_LABEL]


@pytest.mark.parametrize("ratio", [UNKNOWN_AUTO_RATIO, 1])
def test_auto_unknown_and_silence_amounts(sc_tree: Path, ratio: int,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Default "auto": training draws up to UNKNOWN_AUTO_RATIO times the largest keyword class
    from the unknown pool, validation and test keep all of it; generated silence matches the
    largest class.  (Ratio 1 makes the cap bite on this tree: 3 other words, 2 keywords.)"""
    import kws.data.dataset

    monkeypatch.setattr(kws.data.dataset, "UNKNOWN_AUTO_RATIO", ratio)
    kw = {"split": "speaker", "validation_percentage": 20, "testing_percentage": 20}
    ds = load_dataset(sc_tree, WORDS, **kw)
    every = load_dataset(sc_tree, WORDS, unknown_percentage=None, silence_percentage=0, **kw)
    for name in ("train", "validation", "test"):
        c = Counter(ex.label for ex in ds.split(name))
        pool = sum(ex.label == UNKNOWN_LABEL for ex in every.split(name))
        largest = max(c[w] for w in WORDS)
        assert largest > 0 and pool > 0
        expected = min(pool, ratio * largest) if name == "train" else pool
        assert c[UNKNOWN_LABEL] == expected, name
        assert c[SILENCE_LABEL] == largest, name
        assert {ex for ex in ds.split(name) if ex.label in WORDS} == {
            ex for ex in every.split(name) if ex.label in WORDS}
    capped = Counter(ex.label for ex in ds.train)[UNKNOWN_LABEL] < sum(
        ex.label == UNKNOWN_LABEL for ex in every.train)
    assert capped == (ratio == 1)
    assert same_splits(ds, load_dataset(sc_tree, WORDS, unknown_percentage="auto",
                                        silence_percentage="auto", **kw))
    for bad in ("most", -5.0):
        with pytest.raises(KwsError, match="unknown_percentage"):
            load_dataset(sc_tree, WORDS, unknown_percentage=bad)
        with pytest.raises(KwsError, match="silence_percentage"):
            load_dataset(sc_tree, WORDS, silence_percentage=bad)


def test_generated_silence_slices(sc_tree: Path) -> None:
    ds = load_dataset(sc_tree, WORDS, silence_percentage=100.0, split="none")
    assert not ds.train and not ds.validation
    silence = [ex for ex in ds.test if ex.label == SILENCE_LABEL]
    assert len(silence) == 2 * 30 * len(WORDS)
    gains = np.array([ex.gain for ex in silence])
    assert (gains == 0).sum() > 0 and (gains > 0).sum() > len(silence) // 2 and gains.max() <= 1
    noise_dir = sc_tree / "_background_noise_"
    noise = {p.name: sf.read(p, dtype="int16")[0] for p in noise_dir.iterdir()}
    for ex in silence[:50]:
        src = noise[ex.path.name]
        assert 0 <= ex.start <= len(src) - RATE
        clip = load_clip(ex)
        expected = np.round(src[ex.start : ex.start + RATE] * ex.gain).astype(np.int16)
        assert np.array_equal(clip, expected)
    assert len({(ex.path, ex.start) for ex in silence}) > len(silence) * 0.9


def test_existing_silence_folder_used_as_is(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path / "sc", speakers=4, silence_folder=7)
    ds = load_dataset(root, WORDS, silence_percentage=50.0)
    silence = [ex for ex in all_examples(ds) if ex.label == SILENCE_LABEL]
    assert sorted(ex.path.name for ex in silence) == [f"{1000 + i}.wav" for i in range(7)]
    assert all(ex.start == 0 and ex.gain == 1.0 for ex in silence)


def test_lists_split(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path / "sc", speakers=6)
    yes = sorted(p.relative_to(root).as_posix() for p in (root / "yes").glob("*.wav"))
    (root / "validation_list.txt").write_text("\n".join(yes[:3]) + "\n")
    (root / "testing_list.txt").write_text("\n".join(yes[3:5]) + "\n")
    ds = load_dataset(root, ["yes"], silence_percentage=0, unknown_percentage=0)
    rel = lambda exs: sorted(ex.path.relative_to(root).as_posix() for ex in exs)  # noqa: E731
    assert rel(ds.validation) == yes[:3]
    assert rel(ds.test) == yes[3:5]
    assert rel(ds.train) == yes[5:]
    with pytest.raises(KwsError, match="lists"):
        load_dataset(make_speech_commands(tmp_path / "sc2", 2), ["yes"], split="lists")


def test_speaker_split_keeps_speakers_apart_and_is_deterministic(sc_tree: Path) -> None:
    a = load_dataset(sc_tree, WORDS, split="speaker", validation_percentage=20,
                     testing_percentage=10, seed=3)
    b = load_dataset(sc_tree, WORDS, split="speaker", validation_percentage=20,
                     testing_percentage=10, seed=3)
    assert same_splits(a, b)
    speakers = [{ex.speaker for ex in s if ex.speaker} for s in (a.train, a.validation, a.test)]
    assert not (speakers[0] & speakers[1]) and not (speakers[0] & speakers[2])
    assert not (speakers[1] & speakers[2])
    assert [len(s) for s in speakers] == [21, 6, 3]  # 30 speakers at 70/20/10 %
    c = load_dataset(sc_tree, WORDS, split="speaker", validation_percentage=20,
                     testing_percentage=10, seed=4)
    assert {ex.speaker for ex in c.validation} != speakers[1]
    order = speaker_split(["a", "b", "c", "d"], 50, 25)
    assert order == speaker_split(["d", "c", "b", "a"], 50, 25)
    assert sorted(Counter(order.values()).values()) == [1, 1, 2]


def test_hash_split_is_deterministic(sc_tree: Path) -> None:
    one = load_dataset(sc_tree, WORDS, seed=1)
    assert same_splits(one, load_dataset(sc_tree, WORDS, seed=1))
    # the seed only changes the unknown draw and the order, not the hash split
    two = load_dataset(sc_tree, WORDS, seed=2)
    assert not same_splits(one, two)
    for a, b in ((one.train, two.train), (one.test, two.test)):
        assert {e for e in a if e.label in WORDS} == {e for e in b if e.label in WORDS}


def test_folder_layout(tmp_path: Path) -> None:
    root = tmp_path / "custom"
    (root / "hey_board" / "session1").mkdir(parents=True)
    (root / "other").mkdir()
    (root / "empty").mkdir()
    for i in range(6):
        sf.write(root / "hey_board" / "session1" / f"take{i}.wav", word_clip("yes", i), RATE)
        sf.write(root / "other" / f"o{i}.flac", word_clip("no", i), RATE)
    # a 2.5 s recording at 44.1 kHz with the loud part at 1.2-1.7 s
    long = np.zeros(int(2.5 * 44100))
    long[int(1.2 * 44100) : int(1.7 * 44100)] = 0.5
    sf.write(root / "other" / "long.wav", long, 44100)
    ds = load_dataset(root, split="none")
    assert ds.labels == ["hey_board", "other"] and ds.background == []
    assert len(ds.test) == 13
    long_ex = next(ex for ex in ds.test if ex.path.name == "long.wav")
    assert int(0.7 * RATE) - 160 <= long_ex.start <= int(1.2 * RATE)
    assert np.abs(load_clip(long_ex)).max() > 10000
    ds2 = load_dataset(root, ["other", "hey_board"], split="hash")
    assert ds2.labels == ["other", "hey_board"]
    assert len(all_examples(ds2)) == 13
    with pytest.raises(KwsError, match="empty"):
        load_dataset(root, ["empty"])


def test_loader_errors(tmp_path: Path, sc_tree: Path) -> None:
    with pytest.raises(KwsError, match="not found"):
        load_dataset(tmp_path / "missing")
    with pytest.raises(KwsError, match="'maybe'"):
        load_dataset(sc_tree, ["yes", "maybe"])
    with pytest.raises(KwsError, match="split mode"):
        load_dataset(sc_tree, WORDS, split="random")
    with pytest.raises(KwsError, match="percentages"):
        load_dataset(sc_tree, WORDS, validation_percentage=60, testing_percentage=50)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(KwsError, match="no label folders"):
        load_dataset(tmp_path / "nothing")


def test_bundled_sample() -> None:
    total = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert total < 20e6
    with open(SAMPLE / "MANIFEST.csv") as fh:
        rows = list(csv.DictReader(fh))
    wavs = sorted(p.relative_to(SAMPLE).as_posix() for p in SAMPLE.rglob("*.wav"))
    assert sorted(r["path"] for r in rows) == wavs
    for r in rows:
        assert hashlib.sha256((SAMPLE / r["path"]).read_bytes()).hexdigest() == r["sha256"]
    ds = load_dataset(SAMPLE, ["yes", "no"])
    assert ds.labels == ["_silence_", "_unknown_", "yes", "no"]
    assert len(ds.background) == 6
    for split in (ds.train, ds.validation, ds.test):
        c = Counter(ex.label for ex in split)
        assert c["yes"] > 0 and c["no"] > 0 and c[SILENCE_LABEL] > 0 and c[UNKNOWN_LABEL] > 0
    speakers = [{ex.speaker for ex in s if ex.speaker} for s in (ds.train, ds.validation, ds.test)]
    assert not (speakers[0] & speakers[1]) and not (speakers[0] & speakers[2])
    assert len(ds.train) > 250


# ---------------------------------------------------------------- augmentation


def test_time_shift_moves_energy() -> None:
    x = np.zeros(RATE, np.int16)
    x[8000:8100] = 10000
    assert np.argmax(time_shift(x, 1234)) == 9234
    assert np.argmax(time_shift(x, -800)) == 7200
    assert time_shift(x, 0).tolist() == x.tolist()
    assert not time_shift(x, RATE).any()
    cfg = AugmentConfig(time_shift_ms=100, background_probability=0, gain_probability=0)
    rng = np.random.default_rng(0)
    shifts = []
    for _ in range(200):
        y = augment_clip(x, [], cfg, rng)
        shift = int(np.argmax(y)) - 8000
        assert np.array_equal(y, time_shift(x, shift))
        shifts.append(shift)
    assert min(shifts) >= -1600 and max(shifts) <= 1600
    assert min(shifts) < -1000 and max(shifts) > 1000  # the whole range is used


def test_snr_is_achieved() -> None:
    rng = np.random.default_rng(1)
    signal = word_clip("yes", 1)
    noise = (rng.standard_normal(RATE) * 1000).astype(np.int16)
    for snr in (-5.0, 0.0, 5.0, 10.0, 20.0):
        mixed = mix_at_snr(signal, noise, snr)
        added = mixed.astype(float) - signal
        measured = 10 * np.log10(power(signal) / power(added))
        assert abs(measured - snr) < 0.05, (snr, measured)
    cfg = AugmentConfig(time_shift_ms=0, background_probability=1, snr_db=(3.0, 3.0),
                        gain_probability=0)
    long_noise = (rng.standard_normal(5 * RATE) * 500).astype(np.int16)
    for _ in range(10):
        out = augment_clip(signal, [long_noise], cfg, rng)
        measured = 10 * np.log10(power(signal) / power(out.astype(float) - signal))
        assert abs(measured - 3.0) < 0.05
    silent = np.zeros(RATE, np.int16)
    assert np.array_equal(mix_at_snr(silent, noise, 10.0), silent)


def test_gain() -> None:
    x = word_clip("no", 2) // 4
    assert np.allclose(apply_gain(x, 20 * np.log10(2)), 2 * x.astype(float), atol=1)
    assert np.allclose(apply_gain(x, -6.0206), x / 2.0, atol=1)
    assert apply_gain(np.array([30000, -30000], np.int16), 6).tolist() == [32767, -32768]
    cfg = AugmentConfig(time_shift_ms=0, background_probability=0, gain_probability=1,
                        gain_db=(-6, 6))
    rng = np.random.default_rng(0)
    ratios = [np.abs(augment_clip(x, [], cfg, rng)).max() / np.abs(x).max() for _ in range(100)]
    assert 0.49 < min(ratios) < 0.6 and 1.7 < max(ratios) < 2.01


def test_silence_gets_noise_at_a_volume_without_shift() -> None:
    rng = np.random.default_rng(5)
    noise = (rng.standard_normal(2 * RATE) * 3000).astype(np.int16)
    cfg = AugmentConfig(background_probability=1.0, silence_volume=(0.5, 0.5))
    out = augment_clip(np.zeros(RATE, np.int16), [noise], cfg, rng, silence=True)
    # the output is a contiguous noise slice at half volume
    starts = [s for s in range(RATE + 1)
              if np.array_equal(out, np.round(noise[s : s + RATE] * 0.5).astype(np.int16))]
    assert len(starts) == 1
    cfg_off = AugmentConfig(background_probability=0.0)
    clip = word_clip("yes", 3)
    assert np.array_equal(augment_clip(clip, [noise], cfg_off, rng, silence=True), clip)


def test_augment_config_validation() -> None:
    with pytest.raises(KwsError):
        AugmentConfig(background_probability=1.5)
    with pytest.raises(KwsError):
        AugmentConfig(snr_db=(10.0, 0.0))


# ---------------------------------------------------------------- features


@pytest.fixture(scope="module")
def small_set(sc_tree: Path) -> DatasetSplits:
    return load_dataset(sc_tree, WORDS, split="speaker", validation_percentage=20,
                        testing_percentage=20)


def test_extract_features_matches_frontend(small_set: DatasetSplits, tmp_path: Path) -> None:
    cfg = MicroFrontendConfig()
    X, y = extract_features(small_set.validation, small_set.labels, cfg, cache_dir=False,
                            progress=False)
    assert X.dtype == np.float32 and X.shape == (len(small_set.validation), 49, 40)
    assert y.dtype == np.int32
    assert [small_set.labels[i] for i in y] == [ex.label for ex in small_set.validation]
    for i, ex in enumerate(small_set.validation):
        expected = to_model_input(compute_features(load_clip(ex), cfg), cfg)
        assert np.array_equal(X[i], expected)


def test_clips_are_padded_or_trimmed(tmp_path: Path) -> None:
    cfg = MicroFrontendConfig()
    short, longer = word_clip("yes", 1, RATE // 2), word_clip("no", 2, RATE * 3 // 2)
    sf.write(tmp_path / "short.wav", short, RATE)
    sf.write(tmp_path / "long.wav", longer, RATE)
    exs = [Example(tmp_path / "short.wav", "a"), Example(tmp_path / "long.wav", "b", start=100)]
    X, y = extract_features(exs, ["a", "b"], cfg, cache_dir=False, progress=False)
    padded = np.concatenate([short, np.zeros(RATE // 2, np.int16)])
    assert np.array_equal(X[0], to_model_input(compute_features(padded, cfg), cfg))
    trimmed = longer[100 : 100 + RATE]
    assert np.array_equal(X[1], to_model_input(compute_features(trimmed, cfg), cfg))
    assert y.tolist() == [0, 1]
    X7, _ = extract_features(exs, ["a", "b"], cfg, clip_ms=700, cache_dir=False, progress=False)
    assert X7.shape == (2, 34, 40)
    with pytest.raises(KwsError, match="not one of"):
        extract_features(exs, ["a"], cfg, cache_dir=False)
    with pytest.raises(KwsError, match="sample_rate 8000"):
        extract_features(exs, ["a", "b"], MicroFrontendConfig(sample_rate=8000), cache_dir=False)


def test_mfcc_frontend_features(small_set: DatasetSplits) -> None:
    cfg = MfccConfig()
    exs = small_set.test[:8]
    X, _ = extract_features(exs, small_set.labels, cfg, cache_dir=False, progress=False)
    assert X.shape == (8, 49, cfg.num_mfcc) and X.dtype == np.float32
    for i, ex in enumerate(exs):
        assert np.array_equal(X[i], compute_features(load_clip(ex), cfg).astype(np.float32))


def test_feature_cache_hit_skips_frontend(small_set: DatasetSplits, tmp_path: Path) -> None:
    cfg = MicroFrontendConfig()
    cache = tmp_path / "cache"
    exs = small_set.test
    before = frontend_calls()
    X1, y1 = extract_features(exs, small_set.labels, cfg, cache_dir=cache, progress=False)
    assert frontend_calls() - before == len(exs)
    files = list(cache.glob("*.npy"))
    assert len(files) == 1 and not list(cache.glob("*.tmp"))
    before = frontend_calls()
    X2, y2 = extract_features(exs, small_set.labels, cfg, cache_dir=cache, progress=False)
    assert frontend_calls() == before  # served from disk
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    # another frontend config is another cache entry
    extract_features(exs, small_set.labels, MicroFrontendConfig(enable_pcan=False),
                     cache_dir=cache, progress=False)
    assert len(list(cache.glob("*.npy"))) == 2
    # a damaged entry is recomputed and replaced
    files[0].write_bytes(b"garbage")
    before = frontend_calls()
    X3, _ = extract_features(exs, small_set.labels, cfg, cache_dir=cache, progress=False)
    assert frontend_calls() - before == len(exs) and np.array_equal(X1, X3)


def test_cache_notices_changed_audio(tmp_path: Path) -> None:
    cfg = MicroFrontendConfig()
    p = tmp_path / "a.wav"
    sf.write(p, word_clip("yes", 1), RATE)
    exs = [Example(p, "x")]
    X1, _ = extract_features(exs, ["x"], cfg, cache_dir=tmp_path / "c", progress=False)
    sf.write(p, word_clip("no", 1, RATE + 5), RATE)
    before = frontend_calls()
    X2, _ = extract_features(exs, ["x"], cfg, cache_dir=tmp_path / "c", progress=False)
    assert frontend_calls() - before == 1 and not np.array_equal(X1, X2)


def test_augmented_epoch(small_set: DatasetSplits) -> None:
    cfg = MicroFrontendConfig()
    exs = small_set.validation
    X0, y0 = extract_features(exs, small_set.labels, cfg, cache_dir=False, progress=False)
    aug = AugmentConfig()
    before = frontend_calls()
    Xa, ya = augmented_epoch(exs, small_set.labels, cfg, small_set.background, aug,
                             np.random.default_rng(7))
    assert frontend_calls() - before == len(exs)  # recomputed through the C core
    assert Xa.shape == X0.shape and Xa.dtype == np.float32 and np.array_equal(ya, y0)
    assert not np.array_equal(Xa, X0)
    Xb, _ = augmented_epoch(exs, small_set.labels, cfg, small_set.background, aug,
                            np.random.default_rng(7))
    assert np.array_equal(Xa, Xb)  # seeded
    rng = np.random.default_rng(8)
    Xc, _ = augmented_epoch(exs, small_set.labels, cfg, small_set.background, aug, rng)
    Xd, _ = augmented_epoch(exs, small_set.labels, cfg, small_set.background, aug, rng)
    assert not np.array_equal(Xc, Xd)  # a fresh epoch each call
    off = AugmentConfig(time_shift_ms=0, background_probability=0, gain_probability=0)
    Xo, _ = augmented_epoch(exs, small_set.labels, cfg, small_set.background, off, rng)
    assert np.array_equal(Xo, X0)


# ---------------------------------------------------------------- download


def make_tar_gz(path: Path) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name in ("yes/a_nohash_0.wav", "LICENSE"):
            data = b"content of " + name.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_download_extracts_atomically(tmp_path: Path) -> None:
    archive = tmp_path / "sc.tar.gz"
    make_tar_gz(archive)
    dest = tmp_path / "out" / "speech_commands"
    assert download_speech_commands(dest, url=archive.as_uri(), progress=False) == dest
    assert (dest / "yes" / "a_nohash_0.wav").read_bytes() == b"content of yes/a_nohash_0.wav"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["speech_commands"]
    with pytest.raises(KwsError, match="already exists"):
        download_speech_commands(dest, url=archive.as_uri(), progress=False)
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"<html>not found</html>")
    dest2 = tmp_path / "out2" / "sc"
    with pytest.raises(KwsError, match="not a gzip archive"):
        download_speech_commands(dest2, url=bad.as_uri(), progress=False)
    assert list(dest2.parent.iterdir()) == []  # nothing left behind
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[:40])
    with pytest.raises(KwsError):
        download_speech_commands(dest2, url=cut.as_uri(), progress=False)
    assert list(dest2.parent.iterdir()) == []
    with pytest.raises(KwsError, match="version"):
        download_speech_commands(tmp_path / "v3", version=3)
