"""Why a wake-word model misses real people: the measurements behind the README's diagnosis.

    B=runs/wakeword_bench
    nice -n 10 python benchmarks/wakeword_diagnostics.py --run $B/athena_synthetic \\
        --data ../shared/data --tts-data $B/athena_synthetic/data \\
        --test-speech $B/test_speech --test-noise $B/test_noise --out benchmarks/results

For the float Keras model of a finished ``kws wakeword`` run (``--run``) and the real Precise
recordings of its word (``--data``):

- ``levels``: peak level (dBFS) of the recordings: how far apart their loudness is;
- ``planting``: share of recordings whose score (3-inference average, one inference every
  5 feature frames) exceeds 0.4 within ``[start, end + 1 s]`` of the word, planted in the
  test pink noise at 20 dB SNR one by one against 25 to a batch with the noise set under
  the batch's *average* speech level (:func:`kws.board_check.plant_words` with one number);
- ``synthetic_vs_people``: the best window score of held-out ordinary TTS phrases
  (``--tts-data``'s ``_tts_speech_`` clips in its validation/test lists) against clips of
  people's test speech: whether "sounds synthetic" is evidence for the wake word;
- ``clean``: share of the clean recordings scoring above 0.5, and the peak level and the
  spread between speech and the recording's own floor (95th minus 10th percentile of 10 ms
  frame levels) of those below.

Writes ``wakeword_diagnostics.json`` to ``--out`` (one entry per run, others kept).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kws.audio import load_audio  # noqa: E402
from kws.board_check import plant_words  # noqa: E402
from kws.features import compute_features, frontend_from_dict, to_model_input  # noqa: E402

RATE = 16000
STRIDE = 5  # feature frames between inferences, as kws wakeword's detector
WINDOW = 49


class Scorer:
    """The run's float model on int16 audio: wake-word probability per window."""

    def __init__(self, run: Path) -> None:
        import keras

        meta = json.loads((run / "model.json").read_text())
        self.frontend = frontend_from_dict(meta["frontend"])
        self.model = keras.models.load_model(run / "model.keras", compile=False)
        self.wake = next(i for i, lab in enumerate(meta["labels"]) if not lab.startswith("_"))

    def scores(self, audio: np.ndarray, stride: int) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities and end times (s) of windows every ``stride`` frames."""
        feats = to_model_input(compute_features(audio, self.frontend), self.frontend)
        ends = np.arange(WINDOW, len(feats) + 1, stride)
        x = np.stack([feats[e - WINDOW:e] for e in ends])[..., None]
        step, size = self.frontend.window_step, self.frontend.window_size
        return (np.asarray(self.model(x, training=False))[:, self.wake],
                ((ends - 1) * step + size) / RATE)

    def best(self, audio: np.ndarray) -> float:
        """Best window score of a clip padded by 0.5 s on each side (every 2 frames)."""
        return float(self.scores(np.pad(audio, (RATE // 2, RATE // 2)), 2)[0].max())


def _levels(clips: list[Path]) -> dict[str, float]:
    peaks = [20 * np.log10(np.abs(load_audio(p)).max() / 32768 + 1e-9) for p in clips]
    return {"clips": len(clips), "peak_dbfs_median": round(float(np.median(peaks)), 1),
            "peak_dbfs_q10": round(float(np.quantile(peaks, 0.1)), 1),
            "peak_dbfs_q90": round(float(np.quantile(peaks, 0.9)), 1)}


def _planting(scorer: Scorer, clips: list[Path], noise: np.ndarray) -> dict[str, Any]:
    found = {}
    for name, batch in (("one_by_one", 1), ("batches_of_25", 25)):
        hits = []
        for first in range(0, len(clips), batch):
            words = [("w", load_audio(p)) for p in clips[first:first + batch]]
            audio, planted = plant_words(words, noise, gap_s=2.0, snr_db=20.0)
            probs, times = scorer.scores(audio, STRIDE)
            average = np.convolve(probs, np.ones(3) / 3, "full")[:len(probs)]
            for w in planted:
                inside = (times >= w.start_s) & (times <= w.end_s + 1.0)
                hits.append(bool(inside.any() and average[inside].max() > 0.4))
        found[name] = round(float(np.mean(hits)), 3)
    return {"clips": len(clips), "snr_db": 20.0, "share_above_0.4": found}


def _synthetic_vs_people(scorer: Scorer, tts_data: Path, speech: Path) -> dict[str, Any]:
    held = [line.strip() for name in ("testing_list.txt", "validation_list.txt")
            for line in (tts_data / name).read_text().splitlines()]
    tts = [tts_data / h for h in held if h.startswith("_tts_speech_/")][:200]
    people = random.Random(0).sample(sorted(speech.glob("*/*.wav")), 200)
    out = {}
    for name, clips in (("tts_phrases", tts), ("people", people)):
        s = np.array([scorer.best(load_audio(p)) for p in clips])
        out[name] = {"clips": len(s), "median": round(float(np.median(s)), 3),
                     "share_above_0.5": round(float(np.mean(s > 0.5)), 3)}
    return out


def _clean(scorer: Scorer, clips: list[Path]) -> dict[str, Any]:
    rows = []
    for p in clips:
        audio, _ = sf.read(p, dtype="float32", always_2d=True)
        audio = audio[:, 0]
        frames = np.lib.stride_tricks.sliding_window_view(audio, RATE // 100)[::RATE // 100]
        level = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
        rows.append((scorer.best(load_audio(p)),
                     20 * np.log10(np.abs(audio).max() + 1e-9),
                     np.percentile(level, 95) - np.percentile(level, 10)))
    r = np.array(rows)
    low = r[r[:, 0] <= 0.5]
    return {"clips": len(r), "share_above_0.5": round(float(np.mean(r[:, 0] > 0.5)), 3),
            "below": {"clips": len(low),
                      "peak_dbfs_median": round(float(np.median(low[:, 1])), 1) if len(low)
                      else None,
                      "speech_over_floor_db_median": round(float(np.median(low[:, 2])), 1)
                      if len(low) else None}}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, required=True)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--word", default="athena")
    p.add_argument("--tts-data", type=Path, required=True)
    p.add_argument("--test-speech", type=Path, required=True)
    p.add_argument("--test-noise", type=Path, required=True)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args()
    clips = sorted((args.data / "precise_community" / args.word / "en").glob("*.wav"))
    scorer = Scorer(args.run)
    result = {"run": str(args.run), "word": args.word,
              "levels": _levels(clips),
              "planting": _planting(scorer, clips[::4],
                                    load_audio(args.test_noise / "pink_noise.wav")),
              "synthetic_vs_people": _synthetic_vs_people(scorer, args.tts_data,
                                                          args.test_speech),
              "clean": _clean(scorer, clips[::2])}
    print(json.dumps(result, indent=1))
    from kws.fileio import write_json_atomic

    path = args.out / "wakeword_diagnostics.json"
    runs = json.loads(path.read_text())["runs"] if path.is_file() else []
    runs = [r for r in runs if r["run"] != result["run"]] + [result]
    write_json_atomic(path, {"runs": runs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
