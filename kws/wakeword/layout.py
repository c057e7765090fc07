"""Names and splits of the clips of a generated wake-word dataset.

A clip is ``<folder>/<group>_nohash_<n>.wav``: the group (a voice, a speaker, a recorded
file) is what :mod:`kws.data.splits` keeps together, so validation and testing hold out
whole voices.  The split of every group is decided here and written as
``validation_list.txt`` / ``testing_list.txt`` (files in neither list are training), so it
is exact and deterministic whatever the number of voices.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

HELD_OUT = ("validation", "testing")


@dataclass(frozen=True)
class Entry:
    """One planned clip: its path, folder, group, the family of the group (a TTS engine,
    or the kind of source) and a split fixed in advance (None: drawn)."""

    path: str
    folder: str
    group: str
    family: str
    split: str | None = None


class DatasetLayout:
    """Output names of the planned clips, and which split each group goes to."""

    def __init__(self, seed: int, percentages: tuple[float, float]) -> None:
        self.seed = seed
        self.percentages = dict(zip(HELD_OUT, percentages, strict=True))
        self.numbers: Counter[tuple[str, str]] = Counter()
        self.entries: list[Entry] = []

    def name(self, folder: str, group: str, family: str, split: str | None = None) -> str:
        """The next free ``<folder>/<group>_nohash_<n>.wav``, recorded for the split."""
        number = self.numbers[folder, group]
        self.numbers[folder, group] += 1
        path = f"{folder}/{group}_nohash_{number}.wav"
        self.entries.append(Entry(path, folder, group, family, split))
        return path

    def split_lists(self) -> dict[str, list[str]]:
        """Paths per held-out split.

        Per folder, groups are taken in a seeded hash order until the split holds its
        percentage of the folder's clips; a group keeps its split across folders.  A family
        gives at most ``(groups - 1) // 2`` of its groups to validation and testing, so an
        engine with one or two voices (piper, nanotts) is never missing from training.
        """
        assigned = {e.group: e.split for e in self.entries if e.split is not None}
        family = {e.group: e.family for e in self.entries}
        family_size = Counter(family.values())
        held = Counter(family[g] for g, s in assigned.items() if s in HELD_OUT)
        sizes: dict[str, Counter[str]] = {}
        for e in self.entries:
            sizes.setdefault(e.folder, Counter())[e.group] += 1
        for groups in sizes.values():
            order = sorted(groups, key=lambda g: hashlib.sha1(
                f"{self.seed}:{g}".encode()).hexdigest())
            for split in HELD_OUT:
                want = sum(groups.values()) * self.percentages[split] / 100.0
                have = sum(n for g, n in groups.items() if assigned.get(g) == split)
                for g in order:
                    if have >= want:
                        break
                    if g in assigned or held[family[g]] + 1 > (family_size[family[g]] - 1) // 2:
                        continue
                    assigned[g] = split
                    held[family[g]] += 1
                    have += groups[g]
        return {s: sorted(e.path for e in self.entries if assigned.get(e.group) == s)
                for s in HELD_OUT}
