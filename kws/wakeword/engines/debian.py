"""Engines from Debian main: espeak-ng, flite and festival (with the festvox voices).

Each runs as a subprocess per clip.  Measured here (2 shared cores) for a short phrase:
see :mod:`kws.wakeword.tts` for clips per second.
"""

from __future__ import annotations

import numpy as np

from kws.wakeword.engines import Engine, has_program, parse_wav, run_program

ESPEAK = "espeak-ng"
# espeak-ng's defaults: 175 words per minute, pitch 50 on its 0..99 scale.
ESPEAK_DEFAULT_WPM = 175
ESPEAK_WPM_RANGE = (80, 450)
ESPEAK_DEFAULT_PITCH = 50


def _espeak_listing(option: str) -> list[tuple[str, str]]:
    """(language, file) pairs of ``espeak-ng --voices=...``, header skipped."""
    out = run_program([ESPEAK, f"--voices={option}"], f"{ESPEAK} --voices={option}")
    rows = []
    for line in out.decode(errors="replace").splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 5:
            rows.append((fields[1], fields[4]))
    return rows


class EspeakEngine(Engine):
    """espeak-ng: every English accent it ships × every voice variant (``en-us+m3``).

    Formant synthesis, so pitch and rate are native: rate scales the 175 words-per-minute
    default, pitch scales the default pitch 50 on espeak-ng's 0..99 scale (approximately a
    multiplicative change of the base frequency).  MBROLA voices are left out: they need the
    non-free ``mbrola`` program.
    """

    name = ESPEAK
    native_pitch = True

    def available(self) -> bool:
        return has_program(ESPEAK)

    def voices(self) -> list[str]:
        # Accents: English languages of espeak-ng's own data ("gmw/..."), not MBROLA ("mb/...").
        accents = sorted({lang for lang, file in _espeak_listing("en")
                          if file.startswith("gmw/") and lang.startswith("en")})
        variants = sorted({file[3:] for _, file in _espeak_listing("variant")
                           if file.startswith("!v/")}, key=str.lower)
        return list(accents) + [
            f"{accent}+{variant}" for accent in accents for variant in variants]

    def render(self, voice: str, text: str, rate: float, pitch: float) -> tuple[np.ndarray, int]:
        wpm = int(np.clip(round(ESPEAK_DEFAULT_WPM * rate), *ESPEAK_WPM_RANGE))
        pitch_value = int(np.clip(round(ESPEAK_DEFAULT_PITCH * pitch), 0, 99))
        what = f"{ESPEAK} voice {voice}"
        # Text on stdin: a text starting with '-' is not taken for an option.
        out = run_program([ESPEAK, "--stdout", "-v", voice, "-s", str(wpm),
                           "-p", str(pitch_value)], what, stdin=text.encode())
        return parse_wav(out, what)


DEBIAN_ENGINES: list[type[Engine]] = [EspeakEngine]
