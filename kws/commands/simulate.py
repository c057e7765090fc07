"""``kws simulate``: stream an audio file (any length, any rate: resampled to 16 kHz in
blocks, constant memory) through firmware/app compiled for the host with the model, and
print each detection with the time its window ended, and the real-time factor.

Detection settings come from model.json beside the model; the flags override them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kws.commands._args import add_command, add_json_arg, add_model_arg
from kws.detector import add_detector_args, detector_overrides


def register(sub: argparse._SubParsersAction) -> None:
    summary = "stream an audio file through the firmware app built for the host"
    p = add_command(sub, "simulate", run, summary, __doc__, as_written=True)
    add_model_arg(p)
    p.add_argument("audio", type=Path, help="audio file (WAV, FLAC, OGG)")
    p.add_argument("--plot", type=Path, metavar="PNG",
                   help="write a spectrogram with score traces and detections (keeps the "
                   "file's features in memory)")
    add_detector_args(p)
    add_json_arg(p, "detections, duration_s, real_time_factor and settings as JSON")


def run(args: argparse.Namespace) -> int:
    from kws.simulate import plot_simulation, simulate_file

    sim = simulate_file(args.model, args.audio, plot=args.plot is not None,
                        **detector_overrides(args))
    if args.plot is not None:
        plot_simulation(sim, args.plot)
    if args.json:
        print(json.dumps(sim.to_json(), indent=2))
        return 0
    for det in sim.detections:
        print(f"{det['time_s']:10.3f} s  {det['label']:<12} {det['score']:.3f}")
    print(f"{len(sim.detections)} detections in {sim.duration_s:.1f} s of audio "
          f"({sim.inferences} inferences, {sim.real_time_factor:.0f}x real time)")
    return 0
