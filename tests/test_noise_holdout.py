"""Background-noise files held out whole: training never mixes in the noise that validation
and test silence are cut from; the held-out speakers stay fixed across training seeds; the
benchmark's speaker-level bootstrap."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from kws.data import SILENCE_LABEL, load_dataset
from kws.data.splits import NOISE_HOLDOUT_MIN_FILES, noise_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from speech_commands_stats import group_bootstrap, mean_std  # noqa: E402
from test_data import RATE, WORDS, make_speech_commands  # noqa: E402

NOISES = ["doing_the_dishes", "dude_miaowing", "exercise_bike", "pink_noise",
          "running_tap", "white_noise"]


def make_tree(root: Path, noises: list[str], speakers: int = 20, silence_folder: int = 0
              ) -> Path:
    """:func:`test_data.make_speech_commands` with one noise file per name instead of its
    two (each a distinct constant level, so a clip tells which file it came from)."""
    make_speech_commands(root, speakers, silence_folder)
    for old in (root / "_background_noise_").iterdir():
        old.unlink()
    for i, name in enumerate(noises):
        sf.write(root / "_background_noise_" / f"{name}.wav",
                 np.full(2 * RATE, 100 * (i + 1), np.int16), RATE)
    return root


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tree(tmp_path_factory.mktemp("sc"), NOISES, silence_folder=5)


def test_noise_split_holds_out_whole_files_deterministically() -> None:
    names = [f"{n}.wav" for n in NOISES]
    held = noise_split(names, 10, 10)
    assert held is not None and set(held) == set(names)
    assert Counter(held.values()) == {"training": 4, "validation": 1, "testing": 1}
    assert noise_split(list(reversed(names)), 10, 10) == held
    # percentages scale the held-out files; 0 % holds none out for that split
    assert Counter(noise_split([f"n{i}" for i in range(20)], 20, 10).values()) == {
        "training": 14, "validation": 4, "testing": 2}
    assert "validation" not in noise_split(names, 0, 10).values()
    # too few files to hold one out for each split and keep one for training
    assert noise_split(names[:NOISE_HOLDOUT_MIN_FILES - 1], 10, 10) is None
    assert noise_split(names[:3], 40, 40) is not None
    assert noise_split(names[:3], 50, 50) is None


def _silence_files(examples: list) -> set[str]:
    return {ex.path.name for ex in examples if ex.label == SILENCE_LABEL}


def test_no_noise_file_shared_between_training_and_held_out_silence(tree: Path) -> None:
    ds = load_dataset(tree, WORDS, split="speaker", seed=0, noise_holdout=True)
    assert ds.noise_split is not None and len(ds.noise_split) == len(NOISES)
    held = {s: {n for n, v in ds.noise_split.items() if v == s}
            for s in ("training", "validation", "testing")}
    assert all(held.values())
    # each split's silence is cut only from its own noise files
    assert _silence_files(ds.train) == held["training"]
    assert _silence_files(ds.validation) <= held["validation"]
    assert _silence_files(ds.test) <= held["testing"]
    assert _silence_files(ds.test) and _silence_files(ds.validation)
    # the _silence_/ folder's clips cannot be traced to a noise file: not used
    assert not any(ex.path.parent.name == SILENCE_LABEL
                   for ex in ds.train + ds.validation + ds.test)
    # what training mixes in: the training files only, every noise file still loaded
    assert len(ds.background) == len(NOISES)
    levels = {int(clip[0]) // 100 - 1 for clip in ds.training_background}
    assert {NOISES[i] + ".wav" for i in levels} == held["training"]
    assert not {NOISES[i] + ".wav" for i in levels} & (held["testing"] | held["validation"])


def test_held_out_silence_and_speakers_fixed_across_training_seeds(tree: Path) -> None:
    runs = [load_dataset(tree, WORDS, split="speaker", seed=seed, split_seed=0,
                         noise_holdout=True)
            for seed in (0, 1, 2)]
    for name in ("validation", "test"):
        sets = [Counter(r.split(name)) for r in runs]
        assert sets[0] == sets[1] == sets[2], name
    assert Counter(runs[0].train) != Counter(runs[1].train)  # training silence is drawn anew
    # without split_seed the seed moves the held-out speakers, as before
    moved = load_dataset(tree, WORDS, split="speaker", seed=1)
    assert {e.speaker for e in moved.test} != {e.speaker for e in runs[0].test}


def test_without_holdout_every_split_shares_the_noise(tree: Path, tmp_path: Path) -> None:
    ds = load_dataset(tree, WORDS, split="speaker")
    assert ds.noise_split is None and len(ds.training_background) == len(NOISES)
    # the _silence_/ folder is used as is then
    assert sum(ex.path.parent.name == SILENCE_LABEL
               for ex in ds.train + ds.validation + ds.test) == 5
    two = load_dataset(make_tree(tmp_path / "two", NOISES[:2], speakers=10), WORDS,
                       split="speaker", noise_holdout=True)
    assert two.noise_split is None and len(two.training_background) == 2


def test_kws_train_holds_the_noise_out_by_default(tree: Path) -> None:
    from rich.console import Console

    from kws.train import TrainConfig
    from kws.train_data import load_splits

    quiet = Console(quiet=True)
    config = TrainConfig(data=str(tree), words=WORDS, split="speaker", seed=3, split_seed=0)
    _, splits, _, _ = load_splits(config, quiet)
    assert splits.noise_split is not None
    assert len(splits.training_background) < len(splits.background)
    assert Counter(splits.test) == Counter(
        load_dataset(tree, WORDS, split="speaker", noise_holdout=True).test)
    config.noise_holdout = False
    _, shared, _, _ = load_splits(config, quiet)
    assert shared.noise_split is None and len(shared.training_background) == len(NOISES)


def test_group_bootstrap_resamples_groups_not_clips() -> None:
    # group "a": 90 clips all right; group "b": 10 clips all wrong.  Clip-level resampling
    # would stay near 90 %; group-level draws either include b or not.
    y = np.zeros(100, dtype=np.int64)
    pred = np.concatenate([np.zeros(90), np.ones(10)]).astype(np.int64)
    groups = ["a"] * 90 + ["b"] * 10
    boot = group_bootstrap(y, pred[None], groups, 2, draws=2000, seed=1)
    assert boot["groups"] == 2
    # draws: {a,a} -> 1.0, {a,b} -> 0.9, {b,b} -> 0.0
    assert boot["accuracy"][0] == pytest.approx(0.0) and boot["accuracy"][1] == pytest.approx(1.0)
    # one group per clip: the ordinary bootstrap around 90 %
    clips = group_bootstrap(y, pred[None], [str(i) for i in range(100)], 2, draws=4000, seed=1)
    assert 0.82 < clips["accuracy"][0] < 0.86 and 0.94 < clips["accuracy"][1] < 0.97
    # models are averaged per draw: two identical rows give the same interval
    assert group_bootstrap(y, np.stack([pred, pred]), groups, 2, draws=2000, seed=1) == boot


def test_group_bootstrap_balanced_accuracy_on_a_hand_made_case() -> None:
    # every group holds one clip of each class; class 0 always right, class 1 always wrong
    y = np.array([0, 1] * 5)
    pred = np.array([0, 0] * 5)
    boot = group_bootstrap(y, pred[None], [f"g{i // 2}" for i in range(10)], 2, draws=500)
    assert boot["accuracy"] == pytest.approx([0.5, 0.5])
    assert boot["balanced_accuracy"] == pytest.approx([0.5, 0.5])
    assert mean_std([0.9, 0.92, None, 0.94]) == pytest.approx({"mean": 0.92, "std": 0.02})
    assert mean_std([0.9]) == {"mean": 0.9, "std": None}
