"""Streaming benchmark: ``kws simulate`` (the firmware application built for the host) on long
files.

    python benchmarks/streaming.py --out benchmarks/results/streaming [--minutes 10]

- Real-time factor on one core (``OMP_NUM_THREADS=1``; audio seconds per CPU second of the
  process, and per wall second) for DS-CNN-S on MFCC 49x10 (random weights: speed does not
  depend on training) and TFLM's micro_speech (micro frontend 49x40), each at the default
  stride (10 frames), over a ``--minutes`` long WAV of words planted in noise.
- Peak memory (max RSS of a fresh process running ``kws simulate``) on a 1-minute and a
  60-minute file (micro_speech): streaming keeps it flat.
- End-of-word -> detection latency on planted words (micro_speech, a real yes/no
  recogniser): the bundled sample's yes/no clips spliced into pink noise 20 dB below the
  speech; latency = the detection's ``time_s`` (end of the window that triggered) minus the
  end of the word's speech; median and 90th percentile over the words found.

Writes ``streaming.md`` (table) and ``streaming.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # support: micro_speech with its model.json
sys.path.insert(0, str(ROOT / "benchmarks"))  # firmware.make_ds_cnn
SAMPLE = ROOT / "datasets" / "speech_commands_sample"
CLIPS_PER_WORD = 40

# What kws simulate does, in a fresh process, reporting its own peak RSS (KiB).  VmHWM, not
# ru_maxrss: Linux carries ru_maxrss over exec, so it would include the parent's size.
_PEAK_SCRIPT = """
import json, re, sys
from kws.simulate import simulate_file
sim = simulate_file(sys.argv[1], sys.argv[2])
status = open("/proc/self/status").read()
peak = int(re.search(r"VmHWM:\\s*(\\d+)", status).group(1))
print(json.dumps({"peak_kib": peak, "detections": len(sim.detections),
                  "duration_s": sim.duration_s}))
"""


def long_wav(path: Path, minutes: float, unit: np.ndarray) -> Path:
    """``minutes`` of ``unit`` repeated, written block by block."""
    with sf.SoundFile(path, "w", 16000, 1, "PCM_16") as f:
        for _ in range(max(1, int(minutes * 60 * 16000 // len(unit)))):
            f.write(unit)
    return path


def real_time_factor(model: Path, wav: Path) -> dict[str, Any]:
    """One simulate run: audio seconds per CPU second and per wall second."""
    from kws.host_app import HostApp
    from kws.simulate import simulate_file

    HostApp.from_model(model)  # the build is cached: not part of the run
    cpu, wall = time.process_time(), time.perf_counter()
    sim = simulate_file(model, wav)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"audio_s": round(sim.duration_s, 1), "cpu_s": round(cpu, 2),
            "wall_s": round(wall, 2), "rtf_cpu": round(sim.duration_s / cpu, 1),
            "rtf_wall": round(sim.duration_s / wall, 1), "inferences": sim.inferences}


def peak_memory(model: Path, wav: Path) -> dict[str, Any]:
    """Peak RSS of a fresh process simulating ``wav``."""
    done = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(model), str(wav)],
                          capture_output=True, text=True, check=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    return json.loads(done.stdout.strip().splitlines()[-1])


def latency(model: Path) -> dict[str, Any]:
    """End-of-word -> detection latency on the sample's yes/no clips planted in noise."""
    from kws.audio import load_audio
    from kws.board_check import match_detections, plant_words
    from kws.host_app import HostApp
    from kws.simulate import run_stream

    clips = [(w, load_audio(p)) for w in ("yes", "no")
             for p in sorted((SAMPLE / w).glob("*.wav"))[:CLIPS_PER_WORD]]
    order = np.random.default_rng(0).permutation(len(clips))
    noise = load_audio(SAMPLE / "_background_noise_" / "pink_noise.wav")
    audio, words = plant_words([clips[i] for i in order], noise, snr_db=20.0)
    sim = run_stream(HostApp.from_model(model), [audio])
    match = match_detections(sim.detections, words)
    lat = np.array(match["latencies_s"])
    return {"words": len(words), "found": len(match["found"]), "false": len(match["false"]),
            "latency_median_s": round(float(np.median(lat)), 3) if len(lat) else None,
            "latency_p90_s": round(float(np.percentile(lat, 90)), 3) if len(lat) else None}


def markdown(result: dict[str, Any]) -> str:
    """The README table."""
    lines = ["| model | audio | real time per core (CPU) | wall |", "|---|---:|---:|---:|"]
    for name, r in result["rtf"].items():
        lines.append(f"| {name} | {r['audio_s'] / 60:.0f} min | {r['rtf_cpu']:.0f}x | "
                     f"{r['rtf_wall']:.0f}x |")
    m = result["memory"]
    lines += ["", "| file | peak RSS |", "|---|---:|"]
    for name in ("1 min", "60 min"):
        lines.append(f"| {name} | {m[name]['peak_kib'] / 1024:.1f} MiB |")
    lat = result["latency"]
    lines += ["", f"Planted words (micro_speech, {lat['words']} yes/no clips of the sample in "
              f"pink noise at 20 dB SNR): {lat['found']} found, {lat['false']} false "
              f"detections; end of word -> detection latency median "
              f"{lat['latency_median_s'] * 1000:.0f} ms, 90th percentile "
              f"{lat['latency_p90_s'] * 1000:.0f} ms."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "streaming")
    parser.add_argument("--minutes", type=float, default=10.0,
                        help="length of the real-time-factor file (default 10)")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    from support.micro_speech import micro_speech_model, planted_stream

    from firmware import make_ds_cnn

    result: dict[str, Any] = {"rtf": {}, "memory": {}}
    with tempfile.TemporaryDirectory(prefix="kws-streaming-") as tmp:
        work = Path(tmp)
        models = {"DS-CNN-S / MFCC": make_ds_cnn("s", work),
                  "micro_speech / micro": micro_speech_model(work / "micro_speech")}
        unit, _ = planted_stream(snr_db=20.0, noise="pink_noise.wav")
        wav = long_wav(work / "long.wav", args.minutes, unit)
        for name, model in models.items():
            result["rtf"][name] = real_time_factor(model, wav)
            print(name, result["rtf"][name], flush=True)
        micro = models["micro_speech / micro"]
        for name, minutes in (("1 min", 1), ("60 min", 60)):
            result["memory"][name] = peak_memory(micro, long_wav(work / "m.wav", minutes, unit))
            print(name, result["memory"][name], flush=True)
        result["latency"] = latency(micro)
        print(result["latency"], flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "streaming.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "streaming.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
