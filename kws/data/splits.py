"""Which split a clip belongs to: the official Speech Commands lists, its hash rule, or
whole speakers held out (no speaker in two splits)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from kws.errors import KwsError

SPLIT_MODES = ("auto", "lists", "hash", "speaker", "none")

# TF speech_commands input_data.py: hashing into 2**27 - 1 buckets keeps a file in the same
# split however many files are added later.
_MAX_NUM_WAVS_PER_CLASS = 2**27 - 1
_NOHASH = re.compile(r"_nohash_.*$")


def speaker_of(path: str | os.PathLike[str]) -> str:
    """Speaker id of a Speech Commands style name (``<speaker>_nohash_<n>.wav``), else ''."""
    name = Path(path).name
    return name.split("_nohash_", 1)[0] if "_nohash_" in name else ""


def which_set(
    filename: str | os.PathLike[str], validation_percentage: float, testing_percentage: float
) -> str:
    """Official Speech Commands split of a file: "validation", "testing" or "training".

    SHA-1 of the base name with ``_nohash_...`` removed (so all clips of one speaker land
    together), bucketed modulo ``2**27 - 1`` and scaled to a percentage.
    """
    hash_name = _NOHASH.sub("", Path(filename).name)
    digest = int(hashlib.sha1(hash_name.encode("utf-8")).hexdigest(), 16)
    percentage = (digest % (_MAX_NUM_WAVS_PER_CLASS + 1)) * (100.0 / _MAX_NUM_WAVS_PER_CLASS)
    if percentage < validation_percentage:
        return "validation"
    if percentage < validation_percentage + testing_percentage:
        return "testing"
    return "training"


def speaker_split(
    speakers: list[str] | set[str],
    validation_percentage: float,
    testing_percentage: float,
    seed: int = 0,
) -> dict[str, str]:
    """Assign whole speakers to "training"/"validation"/"testing".

    Speakers are ordered by SHA-1 of ``"<seed>:<speaker>"``; the first
    ``round(n * validation_percentage / 100)`` go to validation, the next
    ``round(n * testing_percentage / 100)`` to testing, the rest to training.  Deterministic
    for a given speaker set and seed.
    """
    _check_percentages(validation_percentage, testing_percentage)
    ordered = sorted(
        set(speakers), key=lambda s: hashlib.sha1(f"{seed}:{s}".encode()).hexdigest()
    )
    n = len(ordered)
    n_val = round(n * validation_percentage / 100.0)
    n_test = round(n * testing_percentage / 100.0)
    out: dict[str, str] = {}
    for i, spk in enumerate(ordered):
        out[spk] = "validation" if i < n_val else "testing" if i < n_val + n_test else "training"
    return out


# Fewest background-noise files that can be held out by file: one each for validation and
# testing, and at least one left for training augmentation.
NOISE_HOLDOUT_MIN_FILES = 3


def noise_split(
    names: list[str] | set[str], validation_percentage: float, testing_percentage: float
) -> dict[str, str] | None:
    """Assign whole background-noise files (by name) to "training"/"validation"/"testing".

    Names are ordered by SHA-1 (no seed: the same files are held out in every run); the
    first ``max(1, round(n * validation_percentage / 100))`` go to validation (none at 0 %),
    the next ``max(1, round(n * testing_percentage / 100))`` to testing, the rest to
    training.  ``None`` when fewer than :data:`NOISE_HOLDOUT_MIN_FILES` files, or too few
    to leave one for training: the files cannot be held out whole.
    """
    _check_percentages(validation_percentage, testing_percentage)
    ordered = sorted(set(names), key=lambda s: hashlib.sha1(s.encode()).hexdigest())
    n = len(ordered)

    def held(percentage: float) -> int:
        return max(1, round(n * percentage / 100.0)) if percentage > 0 else 0

    n_val, n_test = held(validation_percentage), held(testing_percentage)
    if n < NOISE_HOLDOUT_MIN_FILES or n_val + n_test >= n:
        return None
    return {name: "validation" if i < n_val else "testing" if i < n_val + n_test
            else "training" for i, name in enumerate(ordered)}


def _check_percentages(validation: float, testing: float) -> None:
    if validation < 0 or testing < 0 or validation + testing > 100:
        raise KwsError(
            f"invalid split percentages: validation {validation}, testing {testing} "
            "(each >= 0, together <= 100)"
        )


def _read_list(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}


class Splitter:
    """Decides the split of each file under one of the split modes."""

    def __init__(
        self,
        root: Path,
        files: list[Path],
        mode: str,
        validation_percentage: float,
        testing_percentage: float,
        seed: int,
    ) -> None:
        if mode not in SPLIT_MODES:
            modes = ", ".join(SPLIT_MODES)
            raise KwsError(f"unknown split mode {mode!r} (expected one of {modes})")
        _check_percentages(validation_percentage, testing_percentage)
        self.root = root
        self.val_pct = validation_percentage
        self.test_pct = testing_percentage
        val_list = root / "validation_list.txt"
        test_list = root / "testing_list.txt"
        if mode == "auto":
            mode = "lists" if (val_list.is_file() or test_list.is_file()) else "hash"
        if mode == "lists":
            if not (val_list.is_file() or test_list.is_file()):
                raise KwsError(
                    f"{root}: split 'lists' needs validation_list.txt and/or testing_list.txt"
                )
            self.validation = _read_list(val_list)
            self.testing = _read_list(test_list)
        self.mode = mode
        if mode == "speaker":
            self.by_speaker = speaker_split(
                {self._speaker_key(f) for f in files}, validation_percentage,
                testing_percentage, seed,
            )

    @staticmethod
    def _speaker_key(path: Path) -> str:
        # Files without a speaker id (official _silence_ clips, custom recordings) count as
        # a speaker of their own.
        return speaker_of(path) or f"file:{path.parent.name}/{path.stem}"

    def __call__(self, path: Path) -> str:
        if self.mode == "none":
            return "testing"
        if self.mode == "lists":
            rel = path.relative_to(self.root).as_posix()
            if rel in self.validation:
                return "validation"
            return "testing" if rel in self.testing else "training"
        if self.mode == "speaker":
            return self.by_speaker[self._speaker_key(path)]
        return which_set(path, self.val_pct, self.test_pct)
