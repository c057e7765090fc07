"""The TFLM micro_speech model (a real yes/no recogniser) with a ``model.json`` like
``kws export`` writes, and streams of real words planted in real background noise."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
SAMPLE = ROOT / "datasets" / "speech_commands_sample"
MICRO_SPEECH = FIXTURES / "models" / "micro_speech_quantized.tflite"
LABELS = ["_silence_", "_unknown_", "yes", "no"]
# Clips micro_speech recognises: the fixtures and clips of the bundled sample.
WORD_CLIPS = [("yes", FIXTURES / "yes_1000ms.wav"), ("no", FIXTURES / "no_1000ms.wav"),
              ("yes", SAMPLE / "yes" / "0fa1e7a9_nohash_0.wav"),
              ("no", SAMPLE / "no" / "03401e93_nohash_0.wav")]


def micro_speech_model(folder: Path, detector: dict | None = None) -> Path:
    """``folder/model_int8.tflite`` + ``model.json`` (micro frontend, its labels)."""
    from kws.features import MicroFrontendConfig
    from kws.modelinfo import io_quantization

    folder.mkdir(parents=True, exist_ok=True)
    model = folder / "model_int8.tflite"
    shutil.copy(MICRO_SPEECH, model)
    in_q, out_q = io_quantization(model)
    meta = {"format": "kws-model/1", "model_file": model.name, "labels": LABELS,
            "frontend": MicroFrontendConfig().to_dict(), "input_scale": in_q.scale,
            "input_zero_point": in_q.zero_point, "output_scale": out_q.scale,
            "output_zero_point": out_q.zero_point}
    if detector is not None:
        meta["detector"] = detector
    (folder / "model.json").write_text(json.dumps(meta))
    return model


def planted_stream(snr_db: float = 20.0, gap_s: float = 1.5, noise: str = "running_tap.wav"):
    """WORD_CLIPS planted into a background recording: (int16 audio, planted words)."""
    from kws.audio import load_audio
    from kws.board_check import plant_words

    clips = [(label, load_audio(path)) for label, path in WORD_CLIPS]
    background = load_audio(SAMPLE / "_background_noise_" / noise)
    return plant_words(clips, background, gap_s=gap_s, snr_db=snr_db)


def write_wav(path: Path, audio: np.ndarray, rate: int = 16000) -> Path:
    """``audio`` as a 16-bit WAV."""
    sf.write(path, audio, rate, subtype="PCM_16")
    return path
