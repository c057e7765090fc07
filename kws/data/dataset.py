"""Dataset loaders: the Speech Commands layout and a folder-per-label layout.

Both return :class:`DatasetSplits`: the label list and train/validation/test lists of
:class:`Example`, plus the background-noise clips used for augmentation.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from kws.audio import DEFAULT_SAMPLE_RATE, load_audio
from kws.data.splits import Splitter, noise_split, speaker_of
from kws.errors import KwsError

SILENCE_LABEL = "_silence_"
UNKNOWN_LABEL = "_unknown_"
BACKGROUND_NOISE_DIR = "_background_noise_"
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
# Share of generated silence examples that are pure zeros (the rest: noise at a random volume).
SILENCE_ZERO_FRACTION = 0.1
# "auto" unknown amount: other words vary far more than one keyword, so training draws up to
# this many times the largest keyword class (kws.train then weights the classes evenly).
AUTO, UNKNOWN_AUTO_RATIO = "auto", 4
# Generated validation/test silence is drawn with these fixed seeds, not the training seed,
# so every training seed is measured on the same held-out clips.
HELD_OUT_SILENCE_SEEDS = {"validation": 1, "testing": 2}


@dataclass(frozen=True)
class Example:
    """One training example: a clip of ``clip_ms`` cut from ``path`` at sample ``start``.

    ``gain`` is a linear factor applied to the clip (generated silence examples use it for
    the random noise volume; 0.0 gives pure zeros).
    """

    path: Path
    label: str
    speaker: str = ""
    start: int = 0
    gain: float = 1.0


@dataclass
class DatasetSplits:
    """Labels, the three splits, and the int16 background-noise clips.

    ``noise_split``: the split of each ``_background_noise_`` file by name when the files
    are held out whole (see :func:`load_speech_commands`), else ``None``.
    ``background_splits[i]`` is the split of ``background[i]`` ("training" for every clip
    without a hold-out); training augmentation mixes :attr:`training_background` only.
    """

    labels: list[str]
    train: list[Example]
    validation: list[Example]
    test: list[Example]
    background: list[np.ndarray] = field(default_factory=list)
    noise_split: dict[str, str] | None = None
    background_splits: list[str] | None = None

    @property
    def training_background(self) -> list[np.ndarray]:
        """The background clips training may mix in (all of them without a hold-out)."""
        if self.background_splits is None:
            return self.background
        return [c for c, s in zip(self.background, self.background_splits, strict=True)
                if s == "training"]

    def split(self, name: str) -> list[Example]:
        """The split called ``name`` ("train", "validation" or "test")."""
        if name not in ("train", "validation", "test"):
            raise KwsError(f"unknown split {name!r} (expected train, validation or test)")
        return getattr(self, name)


def _audio_files(folder: Path, recursive: bool) -> list[Path]:
    it = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in it if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


def _label_folders(root: Path) -> list[Path]:
    return sorted(
        p for p in root.iterdir() if p.is_dir() and p.name != BACKGROUND_NOISE_DIR
        and not p.name.startswith(".")
    )


def dataset_root(root: str | os.PathLike[str]) -> Path:
    """``root`` as a Path; one clear error when it is missing or not a folder."""
    r = Path(root)
    if not r.is_dir():
        raise KwsError(f"{r}: is a file, not a dataset folder" if r.exists()
                       else f"{r}: dataset folder not found")
    return r


def is_speech_commands(root: str | os.PathLike[str]) -> bool:
    """True when ``root`` looks like Speech Commands: a ``_background_noise_`` folder or
    ``*_nohash_*`` file names in its label folders."""
    r = Path(root)
    if (r / BACKGROUND_NOISE_DIR).is_dir():
        return True
    for folder in _label_folders(r):
        if any("_nohash_" in p.name for p in folder.iterdir()):
            return True
    return False


def _load_background(root: Path) -> tuple[list[Path], list[np.ndarray]]:
    folder = root / BACKGROUND_NOISE_DIR
    if not folder.is_dir():
        return [], []
    paths = _audio_files(folder, recursive=False)
    return paths, [load_audio(p, DEFAULT_SAMPLE_RATE) for p in paths]


def load_speech_commands(
    root: str | os.PathLike[str],
    words: list[str] | None = None,
    *,
    unknown_percentage: float | str | None = AUTO,
    silence_percentage: float | str = AUTO,
    validation_percentage: float = 10.0,
    testing_percentage: float = 10.0,
    split: str = "auto",
    seed: int = 0,
    clip_ms: int = 1000,
    noise_holdout: bool = False,
    split_seed: int | None = None,
) -> DatasetSplits:
    """Load a Speech Commands (v0.01/v0.02) tree.

    Labels are ``["_silence_", "_unknown_", *words]``.  Clips of other word folders form
    the ``_unknown_`` pool.  Per split, ``unknown_percentage`` draws
    ``ceil(n_known * unknown_percentage / 100)`` of them at random (``None``: all of them;
    ``"auto"``: in training up to ``UNKNOWN_AUTO_RATIO`` times the largest keyword class,
    in validation and test all of them, so false accepts are measured on every other word).
    An existing ``_silence_/`` folder is used as is; otherwise silence examples are cut
    from ``_background_noise_`` at random offsets and volumes (some pure zeros), per split
    ``ceil(n_known * silence_percentage / 100)`` of them (``"auto"``: as many as the
    largest keyword class).  ``words=None`` takes every word folder as a known word.

    ``noise_holdout`` (``kws train``'s default): the ``_background_noise_`` files are held
    out whole, by
    :func:`kws.data.splits.noise_split` (at least 3 files, not with ``split="none"``).
    Training augmentation then mixes only the training files, and each split's silence is
    cut only from its own files (validation and test silence with fixed seeds, the same
    for every ``seed``); a ``_silence_/`` folder is not used then, since its clips cannot be
    traced to the noise file they were cut from.  Without a hold-out every split shares
    every noise file.  ``split_seed`` orders the "speaker" split (``None``: ``seed``), so
    a fixed one keeps the held-out speakers while ``seed`` varies the rest.
    """
    r = dataset_root(root)
    folders = {p.name: p for p in _label_folders(r)}
    word_folders = {k: v for k, v in folders.items() if k not in (SILENCE_LABEL, UNKNOWN_LABEL)}
    words = _checked_words(r, words, word_folders)
    labels = [SILENCE_LABEL, UNKNOWN_LABEL, *words]
    rng = np.random.default_rng(seed)
    known, unknown = _word_files(r, folders, word_folders, words)
    silence_files = (
        _audio_files(folders[SILENCE_LABEL], recursive=False) if SILENCE_LABEL in folders else []
    )
    splitter = Splitter(
        r, [f for f, _ in known] + unknown + silence_files, split,
        validation_percentage, testing_percentage, seed if split_seed is None else split_seed,
    )

    sets: dict[str, list[Example]] = {"training": [], "validation": [], "testing": []}
    for f, label in known:
        sets[splitter(f)].append(Example(f, label, speaker_of(f)))
    n_known = {k: len(v) for k, v in sets.items()}
    largest = {k: max(sum(ex.label == w for ex in v) for w in words) for k, v in sets.items()}
    for f in unknown:
        sets[splitter(f)].append(Example(f, UNKNOWN_LABEL, speaker_of(f)))
    _draw_unknown(sets, unknown_percentage, n_known, largest, rng)

    noise_paths, noise = _load_background(r)
    held = (noise_split([p.name for p in noise_paths], validation_percentage,
                        testing_percentage) if noise_holdout and split != "none" else None)
    if held is None:
        for f in silence_files:
            sets[splitter(f)].append(Example(f, SILENCE_LABEL, speaker_of(f)))
    if (held is not None or not silence_files) and silence_percentage != 0:
        counts = {s: _extra_count("silence_percentage", silence_percentage, n_known[s],
                                  largest[s]) for s in sets}
        _add_silence(r, sets, counts, (noise_paths, noise), held,
                     clip_ms * DEFAULT_SAMPLE_RATE // 1000, rng)

    for s in sets:
        order = rng.permutation(len(sets[s]))
        sets[s] = [sets[s][i] for i in order]
    return DatasetSplits(labels, sets["training"], sets["validation"], sets["testing"], noise,
                         held, None if held is None else [held[p.name] for p in noise_paths])


def _word_files(root: Path, folders: dict[str, Path], word_folders: dict[str, Path],
                words: list[str]) -> tuple[list[tuple[Path, str]], list[Path]]:
    """The keyword clips with their word, and the ``_unknown_`` pool (other words' clips and
    a ready-made ``_unknown_/`` folder)."""
    known: list[tuple[Path, str]] = []
    unknown: list[Path] = []
    for name, folder in sorted(word_folders.items()):
        files = _audio_files(folder, recursive=False)
        if name in words:
            known.extend((f, name) for f in files)
        else:
            unknown.extend(files)
    if UNKNOWN_LABEL in folders:
        unknown.extend(_audio_files(folders[UNKNOWN_LABEL], recursive=False))
    if not known:
        raise KwsError(f"{root}: no audio files for words {', '.join(words)}")
    return known, unknown


def _add_silence(root: Path, sets: dict[str, list[Example]], counts: dict[str, int],
                 noise: tuple[list[Path], list[np.ndarray]], held: dict[str, str] | None,
                 clip_len: int, rng: np.random.Generator) -> None:
    """Add ``counts[s]`` generated silence examples to each split ``s``, cut from the noise
    files ``noise`` (paths, clips): from every file, or with ``held`` only from the files
    held for ``s`` (held-out splits drawn with :data:`HELD_OUT_SILENCE_SEEDS`)."""
    paths, clips = noise
    if not paths:
        raise KwsError(
            f"{root}: no {SILENCE_LABEL}/ or {BACKGROUND_NOISE_DIR}/ folder to make silence "
            "examples from (set silence_percentage=0 to train without silence)"
        )
    for s, examples in sets.items():
        if held is None:
            examples.extend(_silence_examples(paths, clips, counts[s], clip_len, rng))
            continue
        mine = [i for i, p in enumerate(paths) if held[p.name] == s]
        draw = rng if s == "training" else np.random.default_rng(HELD_OUT_SILENCE_SEEDS[s])
        examples.extend(_silence_examples([paths[i] for i in mine], [clips[i] for i in mine],
                                          counts[s], clip_len, draw))


def _checked_words(root: Path, words: list[str] | None, word_folders: dict[str, Path]
                   ) -> list[str]:
    """The keyword list (every word folder when ``None``), each with a folder of its own."""
    words = sorted(word_folders) if words is None else list(words)
    if len(set(words)) != len(words):
        raise KwsError(f"duplicate words in {words}")
    for w in words:
        if w in (SILENCE_LABEL, UNKNOWN_LABEL):
            raise KwsError(f"{w!r} is a reserved label, not a word")
        if w not in word_folders:
            found = ", ".join(sorted(word_folders))
            raise KwsError(f"{root}: no folder for word {w!r} (found: {found})")
    return words


def _draw_unknown(sets: dict[str, list[Example]], unknown_percentage: float | str | None,
                  n_known: dict[str, int], largest: dict[str, int],
                  rng: np.random.Generator) -> None:
    """Keep, per split, the share of the ``_unknown_`` pool that ``unknown_percentage``
    asks for (``"auto"`` draws in training only; validation and test keep every clip)."""
    for s, examples in sets.items():
        pool = [i for i, ex in enumerate(examples) if ex.label == UNKNOWN_LABEL]
        if unknown_percentage is not None and (unknown_percentage != AUTO or s == "training"):
            count = _extra_count("unknown_percentage", unknown_percentage, n_known[s],
                                 UNKNOWN_AUTO_RATIO * largest[s])
            drop = {pool[i] for i in rng.permutation(len(pool))[count:]}
            sets[s] = [ex for i, ex in enumerate(examples) if i not in drop]


def _extra_count(name: str, percentage: float | str, n_known: int, auto: int) -> int:
    """Examples to add for ``percentage`` of ``n_known`` keyword clips (``auto`` for "auto")."""
    if percentage == AUTO:
        return auto
    if isinstance(percentage, str) or percentage < 0:
        raise KwsError(f"{name} must be a number >= 0 or {AUTO!r}, got {percentage!r}")
    return math.ceil(n_known * percentage / 100.0)


def _silence_examples(
    paths: list[Path], clips: list[np.ndarray], count: int, clip_len: int,
    rng: np.random.Generator,
) -> list[Example]:
    out = []
    for _ in range(count):
        i = int(rng.integers(len(paths)))
        start = int(rng.integers(max(1, len(clips[i]) - clip_len + 1)))
        gain = 0.0 if rng.random() < SILENCE_ZERO_FRACTION else float(rng.uniform(0.0, 1.0))
        out.append(Example(paths[i], SILENCE_LABEL, "", start, gain))
    return out


def loudest_start(audio: np.ndarray, clip_len: int, hop: int = 160) -> int:
    """Start of the ``clip_len`` window with the most energy (searched every ``hop`` samples);
    0 when the audio is not longer than ``clip_len``."""
    if len(audio) <= clip_len:
        return 0
    energy = np.concatenate([[0.0], np.cumsum(audio.astype(np.float64) ** 2)])
    starts = np.arange(0, len(audio) - clip_len + 1, hop)
    sums = energy[starts + clip_len] - energy[starts]
    return int(starts[int(np.argmax(sums))])


def load_folder_dataset(
    root: str | os.PathLike[str],
    words: list[str] | None = None,
    *,
    validation_percentage: float = 10.0,
    testing_percentage: float = 10.0,
    split: str = "auto",
    seed: int = 0,
    clip_ms: int = 1000,
    split_seed: int | None = None,
) -> DatasetSplits:
    """Load ``root/<label>/**/*.{wav,flac,ogg}``: one label per folder.

    Labels are the sorted folder names holding audio (or ``words``, in that order).  A
    ``_background_noise_`` folder supplies background clips.  Clips longer than ``clip_ms``
    start at their loudest ``clip_ms`` window.  ``split_seed`` orders the "speaker" split
    (``None``: ``seed``).
    """
    r = dataset_root(root)
    files_by_label = {
        p.name: files for p in _label_folders(r) if (files := _audio_files(p, recursive=True))
    }
    if words is not None:
        missing = [w for w in words if w not in files_by_label]
        if missing:
            raise KwsError(
                f"{r}: no audio folder for {', '.join(missing)} "
                f"(found: {', '.join(sorted(files_by_label)) or 'none'})"
            )
        files_by_label = {w: files_by_label[w] for w in words}
    if not files_by_label:
        raise KwsError(f"{r}: no label folders with audio files (expected {r}/<label>/*.wav)")
    labels = list(words) if words is not None else sorted(files_by_label)
    all_files = [f for files in files_by_label.values() for f in files]
    splitter = Splitter(r, all_files, split, validation_percentage, testing_percentage,
                        seed if split_seed is None else split_seed)
    clip_len = clip_ms * DEFAULT_SAMPLE_RATE // 1000
    sets: dict[str, list[Example]] = {"training": [], "validation": [], "testing": []}
    for label in labels:
        for f in files_by_label[label]:
            start = 0
            try:
                info = sf.info(str(f))
                too_long = info.frames * DEFAULT_SAMPLE_RATE > clip_len * info.samplerate
            except (sf.LibsndfileError, RuntimeError):
                too_long = True  # let load_audio report the problem
            if too_long:
                start = loudest_start(load_audio(f), clip_len)
            sets[splitter(f)].append(Example(f, label, speaker_of(f), start))
    rng = np.random.default_rng(seed)
    for s in sets:
        order = rng.permutation(len(sets[s]))
        sets[s] = [sets[s][i] for i in order]
    _, background = _load_background(r)
    return DatasetSplits(labels, sets["training"], sets["validation"], sets["testing"], background)


def load_dataset(
    root: str | os.PathLike[str],
    words: list[str] | None = None,
    *,
    unknown_percentage: float | str | None = AUTO,
    silence_percentage: float | str = AUTO,
    validation_percentage: float = 10.0,
    testing_percentage: float = 10.0,
    split: str = "auto",
    seed: int = 0,
    clip_ms: int = 1000,
    noise_holdout: bool = False,
    split_seed: int | None = None,
) -> DatasetSplits:
    """Load a dataset, detecting its layout.

    Speech Commands (a ``_background_noise_`` folder or ``*_nohash_*`` names): see
    :func:`load_speech_commands`.  Anything else: :func:`load_folder_dataset` (the
    unknown/silence percentages and ``noise_holdout`` do not apply).  ``split_seed``: the
    seed of the "speaker" split (``None``: ``seed``).

    ``split``: "auto" (``validation_list.txt``/``testing_list.txt`` when present, else the
    official hash rule), "lists", "hash", "speaker" (whole speakers per split, by hash order
    with the given percentages) or "none" (everything in ``test``).
    """
    r = dataset_root(root)
    if is_speech_commands(r):
        return load_speech_commands(
            r, words, unknown_percentage=unknown_percentage,
            silence_percentage=silence_percentage, validation_percentage=validation_percentage,
            testing_percentage=testing_percentage, split=split, seed=seed, clip_ms=clip_ms,
            noise_holdout=noise_holdout, split_seed=split_seed,
        )
    return load_folder_dataset(
        r, words, validation_percentage=validation_percentage,
        testing_percentage=testing_percentage, split=split, seed=seed, clip_ms=clip_ms,
        split_seed=split_seed,
    )
