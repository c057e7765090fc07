"""``kws calibrate``: choose the detector settings (averaging window, threshold, suppression)
that meet a false-accept target, measured on streams by the firmware's own C application
built for the host.

A negative stream (NEGATIVES and NOISE, plus generated music-like signals, reused with
variation up to --hours) gives false accepts per hour; the POSITIVES, planted into noise at
known times, give the false reject rate.  The lowest false reject rate within the target is
chosen and written into model.json beside the model (its detector section and a calibration
summary), so kws simulate, kws listen and kws deploy use it.  --out gets det.png (the DET
curve), report.html and calibration.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kws.commands._args import add_command, add_json_arg, add_model_arg, bounded


def register(sub: argparse._SubParsersAction) -> None:
    summary = "choose detector settings for a false-accepts-per-hour target on long streams"
    p = add_command(sub, "calibrate", run, summary, __doc__, as_written=True)
    add_model_arg(p, writes_beside=True)
    p.add_argument("--positives", type=Path, nargs="+", required=True, metavar="PATH",
                   help="held-out clips of the wake word (files or folders)")
    p.add_argument("--negatives", type=Path, nargs="+", required=True, metavar="PATH",
                   help="speech without the wake word (files or folders)")
    p.add_argument("--noise", type=Path, nargs="*", default=[], metavar="PATH",
                   help="background noise (files or folders): in the negative stream and "
                   "under the positives (default: generated pink noise under the positives)")
    p.add_argument("--label", help="the wake word's label (default: the model's only keyword)")
    p.add_argument("--target-fa-per-hour", type=bounded(float, 0.0), default=0.5,
                   help="false accepts per hour allowed")
    p.add_argument("--hours", type=bounded(float, 0.0), default=1.0,
                   help="length of the negative stream")
    p.add_argument("--seed", type=int, default=0, help="makes the streams reproducible")
    p.add_argument("--strides", type=bounded(int, 1), nargs="+", metavar="FRAMES",
                   help="feature frames between inferences to try, e.g. 10 5 (default: "
                   "model.json's stride only; each one more runs both streams again)")
    p.add_argument("--jobs", type=bounded(int, 1),
                   help="processes that run the streams (default: every CPU)")
    p.add_argument("--out", type=Path, help="folder for det.png, report.html, calibration.json "
                   "(default: calibration/ beside the model)")
    p.add_argument("--no-write", action="store_true",
                   help="leave model.json as it is (only report)")
    add_json_arg(p, "the chosen settings and their numbers as JSON")


def run(args: argparse.Namespace) -> int:
    import json

    from kws.wakeword.calibrate import calibrate, write_detector_settings

    out = args.out if args.out is not None else args.model.parent / "calibration"
    result = calibrate(args.model, positives=args.positives, negatives=args.negatives,
                       noise=args.noise, target_fa_per_hour=args.target_fa_per_hour,
                       hours=args.hours, seed=args.seed, out_dir=out, label=args.label,
                       progress=not args.json, jobs=args.jobs,
                       strides=args.strides)
    if not args.no_write:
        write_detector_settings(args.model, result.settings, result.summary())
    summary = {**result.summary(), "settings": result.settings.to_dict(),
               "report": str(out / "report.html"), "model_json_written": not args.no_write}
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    s = result.settings
    print(f"chosen: average {s.average_count}, threshold {s.threshold:.4f}, suppress "
          f"{s.suppress_inferences} (stride {s.stride_frames})")
    print(f"{result.fa_per_hour:.3f} false accepts per hour over {result.hours:.2f} h "
          f"(target {result.target_fa_per_hour:g}), false reject rate "
          f"{100 * result.frr:.2f} % of {result.positives} planted words")
    if not result.met:
        print("no setting met the target: the one with the fewest false accepts was chosen")
    print(f"report: {out / 'report.html'}")
    if not args.no_write:
        print(f"model.json updated: {args.model.with_name('model.json')}")
    return 0
