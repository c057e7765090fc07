"""``kws wakeword WORD --out DIR``: your own wake word in one command.

Generates positives with the local TTS engines (no downloads), gathers negatives
(confusable words, ordinary phrases of the same voices, other speech, noise, your own
takes), trains a small DS-CNN, mines the windows of a training-side negative stream it
scores highest and trains on with them, exports int8 and calibrates the detector on long
negative streams through the host build of the firmware application, so that it meets
--target-fa-per-hour. DIR/model_int8.tflite and DIR/model.json (with the calibrated
detector settings) then work with `kws simulate`, `kws listen` and `kws deploy`;
DIR/report.html shows the DET curve, misses and false accepts; DIR/wakeword.json holds the
time of each stage, the counts and the metrics.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kws.commands._args import add_command, bounded
from kws.errors import KwsError


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "wakeword", run, "train a wake word from synthetic voices, "
                    "calibrated to a false-accept rate", __doc__, as_written=True)
    p.add_argument("word", help='the wake word or phrase, e.g. marvin or "hey kws"')
    p.add_argument("--out", type=Path, required=True,
                   help="run folder to write (absent, empty or an earlier kws wakeword run)")
    p.add_argument("--force", action="store_true",
                   help="write into --out even when it holds files kws did not write")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of generation, split, training and calibration streams")
    p.add_argument("--target-fa-per-hour", type=bounded(float, 0.0), default=0.5,
                   help="false accepts per hour the detector settings must not exceed")
    p.add_argument("--recordings", type=Path,
                   help="your own takes (kws record --out DIR): positives weighted up in "
                   "training and partly held out, negatives added")
    p.add_argument("--negatives", type=Path, nargs="+", default=[], metavar="DIR",
                   help="folders of other speech (Speech Commands layout or plain WAVs); "
                   "default: the bundled Speech Commands sample without the wake word")
    p.add_argument("--noise", type=Path, nargs="+", default=[], metavar="DIR",
                   help="folders of background noise (default: the sample's "
                   "_background_noise_)")
    p.add_argument("--engines", metavar="A,B",
                   help="comma-separated TTS engines to speak with (default: every installed "
                   "one; see kws voices)")
    p.add_argument("--tiny", action="store_true",
                   help="a seconds-scale run (few clips, one epoch, a short stream) to try "
                   "the pipeline, not a usable model")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def run(args: argparse.Namespace) -> int:
    from kws.fileio import check_output_dir
    from kws.wakeword.generate import label_of
    from kws.wakeword.pipeline import SUMMARY_FILE, next_steps, run_wakeword

    label_of(args.word)  # a bad word fails before the folder check and any slow import
    engines = None
    if args.engines is not None:
        from kws.wakeword.tts import installed_voices

        engines = [e.strip() for e in args.engines.split(",") if e.strip()]
        if not engines or not installed_voices(engines):
            raise KwsError(f"--engines {args.engines!r}: none of these TTS engines is "
                           "installed (see kws voices)")
    check_output_dir(args.out, SUMMARY_FILE, force=args.force, what="wake-word run folder")
    summary = run_wakeword(
        args.word, args.out, seed=args.seed, target_fa_per_hour=args.target_fa_per_hour,
        recordings=args.recordings, negatives=args.negatives, noise=args.noise,
        size="tiny" if args.tiny else "default", engines=engines, progress=not args.quiet)
    print(next_steps(args.out, summary))
    return 0
