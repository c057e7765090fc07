"""Phrasings of the wake word, and near-miss phrases that share its sounds but are not it.

Near misses come from two places, both ranked by phonetic distance to the wake word:

- real words: ``common_words.txt`` beside this module (5000 frequent English words; its header
  gives source and license), substituted for one word of the wake phrase;
- edits of the wake word itself: one letter replaced by a letter of similar sound, or
  dropped ("marvin" -> "marven", "barvin", "marin").  They are spelled, not written as
  espeak-ng ``[[phonemes]]``, so every engine of :mod:`kws.wakeword.tts` can speak them.

Pronunciations come from espeak-ng (``-x --sep=_``, American English); the distance is a
Levenshtein distance over phonemes where similar phonemes (two vowels, a voiced/voiceless
pair, two nasals...) cost less to substitute.  A candidate that sounds the same as the wake
word, differs from it by one similar phoneme or in vowels only (:data:`MIN_EDIT_COST`), or
contains all of it, is never returned.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kws.errors import KwsError
from kws.wakeword.engines import run_program

WORDS_FILE = Path(__file__).with_name("common_words.txt")
Phonemes = tuple[str, ...]

# Substitution costs between espeak-ng phoneme mnemonics (stress marks removed).
VOICING_PAIRS = {frozenset(p) for p in (("p", "b"), ("t", "d"), ("k", "g"), ("f", "v"),
                                        ("s", "z"), ("S", "Z"), ("T", "D"), ("tS", "dZ"))}
CONSONANT_CLASSES = ({"p", "b", "t", "d", "k", "g", "t#", "?"}, {"m", "n", "N", "n-"},
                     {"f", "v", "T", "D", "s", "z", "S", "Z", "h", "x", "tS", "dZ"},
                     {"l", "r", "w", "j", "l-", "r-"})
SIMILAR_COST, VOICING_COST = 0.4, 0.2
# Letters that sound alike, for spelled edits of the wake word.
LETTER_GROUPS = ("aeiouy", "bpm", "dtn", "gkc", "fvw", "szc", "lr", "mn", "jg", "xk")
# Candidates whose word is longer or shorter than the one it replaces by more phonemes than
# this are never near misses.
MAX_LENGTH_CHANGE = 3
# A near miss must differ by at least this much weighted edit cost (one dissimilar phoneme,
# or two similar ones): a single vowel or voicing change ("marven", "athana") is how real
# speakers say the wake word itself, and training it as a negative costs recall on them.
MIN_EDIT_COST = 0.6
# Weight towards the closest candidates when sampling: exp(-distance / this).
SAMPLING_TEMPERATURE = 0.1
# Ordinary (non-confusable) phrases keep at least this phoneme distance from each wake word.
ORDINARY_MIN_DISTANCE = 0.6


def phrase_variants(word: str) -> list[str]:
    """Ways to say the wake word: plain, exclaimed, asked, stated and after "hey"/"okay".

    Punctuation changes the engines' intonation ("marvin?" rises).
    """
    phrase = _normalize(word)
    variants = [phrase, f"{phrase}!", f"{phrase}?", f"{phrase}.", f"{phrase}, {phrase}."]
    if not phrase.lower().startswith(("hey ", "ok ", "okay ")):
        variants += [f"hey {phrase}", f"okay {phrase}!"]
    return variants


def confusable_phrases(word: str, count: int, seed: int = 0) -> list[str]:
    """``count`` texts that sound like ``word`` but are not it (fewer if too few exist).

    Half real words, half spelled edits of the wake word (each half fills in for the other
    when short), drawn with ``seed`` among the closest candidates, closest first.
    """
    phrase = _normalize(word)
    if count <= 0:
        return []
    rng = np.random.default_rng(seed)
    real, edits = _ranked_candidates(phrase)
    want_real = min(len(real), max(count - len(edits), (count + 1) // 2))
    chosen = _draw(real, want_real, rng) + _draw(edits, count - want_real, rng)
    return [text for _, text in sorted(chosen)]


def ordinary_phrases(word: str, count: int, seed: int = 0) -> list[str]:
    """``count`` phrases of one or two common words that do not sound like any word of
    ``word`` (phoneme distance at least :data:`ORDINARY_MIN_DISTANCE` from each).

    Spoken by the same TTS voices as the positives they are negatives that sound as
    synthetic as the wake word: a model must not learn "synthetic voice" as the wake word.
    """
    spoken = phonemize(_normalize(word).lower().split())
    pool = sorted(w for w, sound in common_words().items()
                  if len(w) > 1 and all(phoneme_distance(sound, s) >= ORDINARY_MIN_DISTANCE
                                        and not _contains(sound, s) for s in spoken))
    if count <= 0 or not pool:
        return []
    rng = np.random.default_rng(seed)
    return [" ".join(pool[int(i)] for i in rng.integers(len(pool), size=int(rng.integers(1, 3))))
            for _ in range(count)]


def _draw(ranked: list[tuple[float, str]], count: int, rng: np.random.Generator,
          ) -> list[tuple[float, str]]:
    """``count`` of the ``3 * count`` closest candidates, closer ones likelier."""
    pool = ranked[:3 * count]
    if count >= len(pool):
        return pool
    distance = np.array([d for d, _ in pool])
    weight = np.exp(-(distance - distance.min()) / SAMPLING_TEMPERATURE)
    picked = rng.choice(len(pool), size=count, replace=False, p=weight / weight.sum())
    return [pool[i] for i in sorted(picked)]


def _normalize(word: str) -> str:
    phrase = " ".join(word.split())
    if not re.fullmatch(r"[A-Za-z][A-Za-z' -]*", phrase):
        raise KwsError(f"wake word {word!r}: use letters, spaces, apostrophes and hyphens only")
    return phrase


def _ranked_candidates(phrase: str) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:
    """(real-word candidates, spelled edits), each as sorted (distance, text) pairs."""
    words = phrase.lower().split()
    spoken = phonemize(words)
    target = tuple(p for w in spoken for p in w)
    common = common_words()
    seen: set[Phonemes] = {target}
    real: list[tuple[float, str]] = []
    spelled: list[tuple[float, str]] = []
    for index, word in enumerate(words):
        edits = [e for e in spelled_edits(word) if e not in common]
        options = [(common, real), (dict(zip(edits, phonemize(edits), strict=True)), spelled)]
        for sounds, bucket in options:
            for option, sound in sounds.items():
                if abs(len(sound) - len(spoken[index])) > MAX_LENGTH_CHANGE:
                    continue  # too far to be a near miss; skips most of the distance work
                flat = tuple(p for w in spoken[:index] + [sound] + spoken[index + 1:] for p in w)
                if option == word or flat in seen or _contains(flat, target):
                    continue
                seen.add(flat)
                distance = phoneme_distance(flat, target)
                if (distance * max(len(flat), len(target)) < MIN_EDIT_COST - 1e-9
                        or _consonants(flat) == _consonants(target)):
                    continue
                text = " ".join(words[:index] + [option] + words[index + 1:])
                bucket.append((distance, text))
    return sorted(real), sorted(spelled)


def _consonants(sound: Phonemes) -> Phonemes:
    """The sound without its vowels: words that differ in vowels only are the same word
    said with another accent or stress."""
    return tuple(p for p in sound if not _is_vowel(p))


def _contains(sound: Phonemes, target: Phonemes) -> bool:
    n = len(target)
    return any(sound[i:i + n] == target for i in range(len(sound) - n + 1))


def spelled_edits(word: str) -> list[str]:
    """``word`` with one letter replaced by a similar-sounding one, or dropped."""
    edits = set()
    for i, letter in enumerate(word):
        for group in LETTER_GROUPS:
            if letter in group:
                edits.update(word[:i] + other + word[i + 1:] for other in group)
        if len(word) > 3:
            edits.add(word[:i] + word[i + 1:])
    edits.discard(word)
    return sorted(e for e in edits if re.fullmatch(r"[a-z][a-z'-]*", e))


@functools.cache
def common_words() -> dict[str, Phonemes]:
    """The shipped common English words and their espeak-ng phonemes (stress dropped)."""
    words = {}
    for line in WORDS_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            word, _, sound = line.partition("\t")
            words[word.strip()] = _phoneme_tokens(sound)
    return words


def phonemize(texts: Sequence[str]) -> list[Phonemes]:
    """espeak-ng's phonemes (American English, stress marks dropped) of each text.

    One espeak-ng run for all texts; a comma after each text makes espeak-ng answer each
    on its own line.
    """
    if not texts:
        return []
    if any(not re.fullmatch(r"[A-Za-z' -]*[A-Za-z][A-Za-z' -]*", text) for text in texts):
        raise KwsError("phonemize: texts must be letters, spaces, apostrophes and hyphens")
    out = run_program(["espeak-ng", "-q", "-x", "--sep=_", "-v", "en-us"],
                      "espeak-ng phonemes", stdin="".join(f"{t},\n" for t in texts).encode())
    lines = [line for line in out.decode(errors="replace").splitlines() if line.strip()]
    if len(lines) != len(texts):
        raise KwsError(f"espeak-ng phonemes: {len(lines)} lines for {len(texts)} texts")
    return [_phoneme_tokens(line) for line in lines]


def _phoneme_tokens(line: str) -> Phonemes:
    return tuple(p for p in re.split(r"[_\s]+", line.replace("'", "").replace(",", "")) if p)


def _substitution_cost(a: str, b: str) -> float:
    if a == b:
        return 0.0
    if frozenset((a, b)) in VOICING_PAIRS:
        return VOICING_COST
    if _is_vowel(a) and _is_vowel(b):
        return SIMILAR_COST
    if any(a in group and b in group for group in CONSONANT_CLASSES):
        return SIMILAR_COST
    return 1.0


def _is_vowel(phoneme: str) -> bool:
    return phoneme[0] in "aeiouAEIOUV03@"


def phoneme_distance(a: Phonemes, b: Phonemes) -> float:
    """Weighted Levenshtein distance of two phoneme sequences over the longer length."""
    previous = [float(j) for j in range(len(b) + 1)]
    for i, pa in enumerate(a, 1):
        current = [float(i)]
        for j, pb in enumerate(b, 1):
            current.append(min(previous[j] + 1.0, current[j - 1] + 1.0,
                               previous[j - 1] + _substitution_cost(pa, pb)))
        previous = current
    return previous[-1] / max(len(a), len(b), 1)
