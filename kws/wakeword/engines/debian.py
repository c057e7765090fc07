"""Engines from Debian main: espeak-ng, flite and festival (with the festvox voices).

Each runs as a subprocess per clip.  Measured here (2 shared cores) for a short phrase:
see :mod:`kws.wakeword.tts` for clips per second.
"""

from __future__ import annotations

import atexit
import os
import re
import select
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from kws.wakeword.engines import (
    SUBPROCESS_TIMEOUT_S,
    Engine,
    TtsError,
    has_program,
    parse_wav,
    run_program,
)

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
    source = "Debian: apt-get install espeak-ng"

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


FLITE = "flite"
# Limited-domain voices (awb_time speaks only clock times) are not general voices.
FLITE_LIMITED_DOMAIN = re.compile(r"_time$")


class FliteEngine(Engine):
    """flite's built-in voices (kal, kal16, awb, rms, slt).

    Rate through flite's ``duration_stretch``; pitch by the resampling fallback of
    :func:`kws.wakeword.tts.synthesize` (flite's f0 target is voice-specific).
    """

    name = FLITE
    source = "Debian: apt-get install flite"

    def available(self) -> bool:
        return has_program(FLITE)

    def voices(self) -> list[str]:
        out = run_program([FLITE, "-lv"], f"{FLITE} -lv").decode(errors="replace")
        listed = out.split(":", 1)[-1].split()
        return [v for v in listed if not FLITE_LIMITED_DOMAIN.search(v)]

    def render(self, voice: str, text: str, rate: float, pitch: float) -> tuple[np.ndarray, int]:
        what = f"{FLITE} voice {voice}"
        with tempfile.TemporaryDirectory(prefix="kws-flite-") as tmp:
            wav = Path(tmp) / "out.wav"
            run_program([FLITE, "-voice", voice, "--setf", f"duration_stretch={1.0 / rate:.4f}",
                         "-t", text, "-o", str(wav)], what)
            if not wav.is_file():
                raise TtsError(f"{what}: no audio written")
            return parse_wav(wav.read_bytes(), what)


FESTIVAL = "festival"
FESTIVAL_VOICE_DIR = Path("/usr/share/festival/voices")
FESTIVAL_LANGUAGES = ("english", "us", "british")
FESTIVAL_DONE = "KWS-FESTIVAL-DONE"


class FestivalEngine(Engine):
    """festival with the English festvox voices (kal_diphone, ked_diphone, cmu_us_slt_arctic_hts).

    One festival process per Python process stays open and is fed Scheme on stdin: starting
    festival takes ~1 s, a diphone clip after that ~10 ms, an HTS clip ~0.1 s.  Rate through
    ``Duration_Stretch`` (diphone voices) or the HTS engine's ``-r``; pitch by the resampling
    fallback of :func:`kws.wakeword.tts.synthesize`.
    """

    name = FESTIVAL
    source = ("Debian: apt-get install festival festvox-kallpc16k festvox-kdlpc16k "
              "festvox-us-slt-hts")

    def __init__(self) -> None:
        self._session = _FestivalSession()

    def available(self) -> bool:
        # stdbuf (coreutils) makes festival's stdout line-buffered, so replies come back.
        return has_program(FESTIVAL) and has_program("stdbuf") and bool(self.voices())

    def voices(self) -> list[str]:
        return sorted(festvox.parent.name for lang in FESTIVAL_LANGUAGES
                      for festvox in (FESTIVAL_VOICE_DIR / lang).glob("*/festvox")
                      if festvox.is_dir())

    def render(self, voice: str, text: str, rate: float, pitch: float) -> tuple[np.ndarray, int]:
        what = f"{FESTIVAL} voice {voice}"
        if voice.endswith("_hts"):
            speed = ('(set! hts_engine_params (append hts_engine_params '
                     f'(list (list "-r" {rate:.4f}))))')
        else:
            speed = f"(Parameter.set 'Duration_Stretch {1.0 / rate:.4f})"
        quoted = text.replace("\\", " ").replace('"', " ").replace("\n", " ")
        with tempfile.TemporaryDirectory(prefix="kws-festival-") as tmp:
            wav = Path(tmp) / "out.wav"
            lines = self._session.run(
                f"(voice_{voice}) {speed} "
                f'(utt.save.wave (utt.synth (Utterance Text "{quoted}")) "{wav}" \'riff)', what)
            if not wav.is_file():
                errors = [line for line in lines if "rror" in line or "fail" in line]
                raise TtsError(f"{what}: {(errors or lines or ['no audio written'])[-1]}")
            return parse_wav(wav.read_bytes(), what)


class _FestivalSession:
    """A festival process that evaluates Scheme sent on stdin (restarted after a fork)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner = 0
        self._lock = threading.Lock()

    def run(self, code: str, what: str) -> list[str]:
        """Evaluate ``code``; returns festival's output lines (errors included)."""
        with self._lock:
            proc = self._process(what)
            assert proc.stdin is not None
            try:
                proc.stdin.write(f'{code}\n(format t "{FESTIVAL_DONE}\\n")\n'.encode())
                proc.stdin.flush()
                return self._read_reply(proc, what)
            except (OSError, TtsError):
                self.close()
                raise

    def _process(self, what: str) -> subprocess.Popen[bytes]:
        if self._proc is None or self._owner != os.getpid() or self._proc.poll() is not None:
            try:
                self._proc = subprocess.Popen(
                    ["stdbuf", "-oL", "-eL", FESTIVAL, "--pipe"], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            except OSError as exc:
                raise TtsError(f"{what}: {exc}") from None
            self._owner = os.getpid()
            atexit.register(self.close)
        return self._proc

    @staticmethod
    def _read_reply(proc: subprocess.Popen[bytes], what: str) -> list[str]:
        assert proc.stdout is not None
        fd, data = proc.stdout.fileno(), b""
        deadline = time.monotonic() + SUBPROCESS_TIMEOUT_S
        while FESTIVAL_DONE.encode() not in data:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TtsError(f"{what}: no answer within {SUBPROCESS_TIMEOUT_S:.0f} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise TtsError(f"{what}: festival exited")
            data += chunk
        return [line for line in data.decode(errors="replace").splitlines()
                if line.strip() and FESTIVAL_DONE not in line]

    def close(self) -> None:
        """End the festival process (it exits on end of input)."""
        if self._proc is not None and self._owner == os.getpid():
            if self._proc.stdin is not None:
                self._proc.stdin.close()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._proc = None


DEBIAN_ENGINES: list[type[Engine]] = [EspeakEngine, FliteEngine, FestivalEngine]
