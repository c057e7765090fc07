"""Hard-negative mining (kws.wakeword.mine) and fine-tuning from a saved model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from kws.errors import KwsError
from kws.features import compute_features, frontend_config, to_model_input
from kws.wakeword.mine import (
    MINED_DIR,
    MinedWindow,
    _windows,
    score_windows,
    spread_out,
    training_negative_sources,
)
from kws.wakeword.pipeline import held_out_clips
from kws.wakeword.streams import SAMPLE_RATE, negative_stream

MFCC = frontend_config("mfcc")
WINDOW_FRAMES = 49
STEP = MFCC.step_ms * SAMPLE_RATE // 1000
WINDOW_SAMPLES = MFCC.window_ms * SAMPLE_RATE // 1000 + (WINDOW_FRAMES - 1) * STEP


def _speech_like_files(folder: Path, count: int, seed: int = 0) -> Path:
    """Bursts of harmonic tones of random length and level: stand-ins for words."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for n in range(count):
        t = np.arange(int(rng.uniform(0.3, 1.2) * SAMPLE_RATE)) / SAMPLE_RATE
        f0 = rng.uniform(100, 300)
        y = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 6))
        y *= np.hanning(len(t)) * rng.uniform(0.05, 0.4)
        sf.write(folder / f"s{n:02d}_nohash_0.wav", y.astype(np.float32), SAMPLE_RATE,
                 subtype="PCM_16")
    return folder


def _energy_model(wake: int = 2, labels: int = 3):  # type: ignore[no-untyped-def]
    """A fixed model whose wake probability grows with the windows' mean first MFCC."""
    import keras

    model = keras.Sequential([keras.Input((WINDOW_FRAMES, 10, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(labels, activation="softmax")])
    kernel = np.zeros((WINDOW_FRAMES * 10, labels), np.float32)
    kernel[0::10, wake] = 0.02  # coefficient 0 of every frame
    model.layers[-1].set_weights([kernel, np.array([0, 0, -3], np.float32)[:labels]])
    return model


def test_windows_are_the_features_of_each_excerpt() -> None:
    rng = np.random.default_rng(1)
    audio = (rng.standard_normal(3 * SAMPLE_RATE) * 3000).astype(np.int16)
    x, firsts = _windows(audio, MFCC, WINDOW_FRAMES, 3)
    assert len(x) == len(firsts) > 20
    for i in (0, 7, len(firsts) - 1):
        at = int(firsts[i]) * STEP
        alone = to_model_input(compute_features(audio[at:at + WINDOW_SAMPLES], MFCC), MFCC)
        np.testing.assert_array_equal(x[i], alone)


def test_score_windows_finds_the_top_windows_of_the_whole_stream(tmp_path: Path) -> None:
    stream = negative_stream([_speech_like_files(tmp_path / "speech", 12)], hours=90 / 3600,
                             seed=4)
    model = _energy_model()
    mined = score_windows(model, stream, MFCC, 2, window_frames=WINDOW_FRAMES,
                          stride_frames=2, keep=25, min_score=0.0)
    # The same windows scored in one piece: every window start, no chunking.
    whole = np.concatenate(list(stream.blocks()))
    x, firsts = _windows(whole, MFCC, WINDOW_FRAMES, 2)
    probs = np.asarray(model.predict(x[..., None], verbose=0))[:, 2]
    top = np.argsort(-probs, kind="stable")[:25]
    assert len(mined) == 25
    assert sorted(w.start for w in mined) == sorted(int(firsts[i]) * STEP for i in top)
    for w in mined:
        np.testing.assert_array_equal(w.audio, whole[w.start:w.start + WINDOW_SAMPLES])
    scores = [w.score for w in mined]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == pytest.approx(float(probs.max()), abs=1e-5)


def test_score_windows_keeps_only_windows_above_min_score(tmp_path: Path) -> None:
    stream = negative_stream([_speech_like_files(tmp_path / "speech", 6)], hours=30 / 3600,
                             seed=2)
    all_windows = score_windows(_energy_model(), stream, MFCC, 2, window_frames=WINDOW_FRAMES,
                                stride_frames=4, keep=10_000, min_score=0.0)
    cut = float(np.median([w.score for w in all_windows]))
    above = score_windows(_energy_model(), stream, MFCC, 2, window_frames=WINDOW_FRAMES,
                          stride_frames=4, keep=10_000, min_score=cut)
    assert 0 < len(above) < len(all_windows)
    assert {w.start for w in above} == {w.start for w in all_windows if w.score >= cut}


def test_spread_out_keeps_one_window_per_event() -> None:
    audio = np.zeros(4, np.int16)
    windows = [MinedWindow(s, start, audio) for s, start in
               [(0.9, 16000), (0.95, 17000), (0.5, 40000), (0.8, 26000), (0.7, 39000)]]
    chosen = spread_out(windows, 10, min_gap=8000)
    assert [(w.score, w.start) for w in chosen] == [(0.95, 17000), (0.8, 26000),
                                                    (0.7, 39000)]
    assert [w.start for w in spread_out(windows, 1, min_gap=8000)] == [17000]


def _dataset(data: Path, folders: dict[str, list[str]], validation: list[str],
             testing: list[str]) -> Path:
    """Silent 1 s clips in ``folders`` and the split lists of a generated dataset."""
    for folder, names in folders.items():
        (data / folder).mkdir(parents=True)
        for name in names:
            sf.write(data / folder / f"{name}.wav", np.zeros(SAMPLE_RATE, np.int16),
                     SAMPLE_RATE, subtype="PCM_16")
    (data / "validation_list.txt").write_text("".join(f"{p}.wav\n" for p in validation))
    (data / "testing_list.txt").write_text("".join(f"{p}.wav\n" for p in testing))
    return data


def test_training_negative_sources_leave_out_held_out_and_positives(tmp_path: Path) -> None:
    data = _dataset(tmp_path / "data", {"athena": ["v1_nohash_0", "v2_nohash_0"],
                                        "_speech_": ["a_nohash_0", "b_nohash_0", "c_nohash_0"],
                                        MINED_DIR: ["mined_nohash_00000"]},
                    ["_speech_/b_nohash_0", "athena/v2_nohash_0"], ["_speech_/c_nohash_0"])
    assert training_negative_sources(data, "athena") == [data / "_speech_" / "a_nohash_0.wav"]


def test_calibration_negatives_are_people_when_there_are_any(tmp_path: Path) -> None:
    folders = {"athena": ["v1_nohash_0", "v2_nohash_0"], "_speech_": ["a_nohash_0"],
               "_tts_speech_": ["t1_nohash_0", "t2_nohash_0"], "_confusable_": ["c_nohash_0"],
               MINED_DIR: ["mined_nohash_00000"]}
    held = ["athena/v2_nohash_0", "_speech_/a_nohash_0", "_tts_speech_/t1_nohash_0",
            "_confusable_/c_nohash_0"]
    data = _dataset(tmp_path / "data", folders, held[:2], held[2:])
    assert held_out_clips(data, "athena") == ([data / "athena" / "v2_nohash_0.wav"],
                                              [data / "_speech_" / "a_nohash_0.wav"])
    # Without held-out speech of people, the TTS voices' ordinary phrases stand in.
    bare = _dataset(tmp_path / "bare", {k: v for k, v in folders.items() if k != "_speech_"},
                    [held[0]], held[2:])
    assert held_out_clips(bare, "athena")[1] == [bare / "_tts_speech_" / "t1_nohash_0.wav"]


def test_init_model_must_match_the_model_trained(tmp_path: Path) -> None:
    from kws.model import ds_cnn, parse_model_name
    from kws.train import _load_initial_weights

    xs = parse_model_name("ds-cnn-xs")
    saved = ds_cnn((WINDOW_FRAMES, 10, 1), 3, xs)
    saved.save(tmp_path / "start.keras")
    fresh = ds_cnn((WINDOW_FRAMES, 10, 1), 3, xs)
    _load_initial_weights(fresh, tmp_path / "start.keras")
    for a, b in zip(fresh.get_weights(), saved.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(KwsError, match="do not match the model being trained"):
        _load_initial_weights(ds_cnn((WINDOW_FRAMES, 10, 1), 4, xs), tmp_path / "start.keras")
    with pytest.raises(KwsError, match="no model to start training from"):
        _load_initial_weights(fresh, tmp_path / "missing.keras")
