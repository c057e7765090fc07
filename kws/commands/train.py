"""``kws train``: train a DS-CNN on a dataset folder and write a run directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from kws.commands._args import add_command, bounded
from kws.commands.frontend_args import add_frontend_args, frontend_from_args
from kws.errors import KwsError

MODELS = ("ds-cnn-xs", "ds-cnn-s", "ds-cnn-m", "ds-cnn-l")


def _percentage(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 100.0:
        raise argparse.ArgumentTypeError(f"{text} is not a percentage in [0, 100]")
    return value


def amount(text: str) -> float | str:
    """``--unknown-percentage``/``--silence-percentage`` value: ``auto`` or a percentage."""
    return text if text == "auto" else _percentage(text)


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "train", run, "train a DS-CNN keyword model",
                    "Train a DS-CNN on features from the C-core front end. Writes "
                    "OUT/model.keras (best validation epoch), OUT/train.json, "
                    "OUT/representative.npy and OUT/test.npz; then run `kws export OUT`.")
    p.add_argument("--data", type=Path, required=True,
                   help="dataset root (Speech Commands layout or one folder per label)")
    p.add_argument("--words", help="comma-separated keywords, e.g. yes,no (default: all "
                   "label folders)")
    p.add_argument("--model", default="ds-cnn-s", choices=MODELS, help="architecture")
    p.add_argument("--out", type=Path, required=True,
                   help="run directory to write (absent, empty or an earlier run)")
    add_force_arg(p)
    p.add_argument("--epochs", type=bounded(int, 1), default=30, help="training epochs")
    p.add_argument("--batch-size", type=bounded(int, 1),
                   help="default: 100, smaller for small datasets (>= ~20 steps per epoch)")
    p.add_argument("--lr", type=float, default=1e-3,
                   help="peak learning rate (Adam)")
    p.add_argument("--lr-schedule", choices=["cosine", "step"], default="cosine",
                   help="learning-rate decay over the epochs")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the split, weights, shuffling and augmentation")
    p.add_argument("--label-smoothing", type=bounded(float, 0, 1, high_open=True), default=0.1,
                   help="label smoothing of the cross-entropy loss, in [0, 1)")
    p.add_argument("--dropout", type=bounded(float, 0, 1, high_open=True), default=0.2,
                   help="dropout rate before the classifier, in [0, 1)")
    p.add_argument("--strategy", choices=["none", "mirrored", "multiworker"], default="none",
                   help="tf.distribute strategy (multiworker reads TF_CONFIG)")
    p.add_argument("--split", choices=["auto", "lists", "hash", "speaker"], default="auto",
                   help="how to split train/validation/test")
    p.add_argument("--unknown-percentage", type=amount, default="auto",
                   help="other-word clips as a percentage of the keyword clips; auto "
                   "(default): in training up to 4x the largest keyword class, in "
                   "validation/test every one")
    p.add_argument("--silence-percentage", type=amount, default="auto",
                   help="generated silence clips as a percentage of the keyword clips; auto "
                   "(default): as many as the largest keyword class (a _silence_ folder is "
                   "used as is when noise files are not held out)")
    p.add_argument("--class-weights", choices=["capped", "balanced", "none"], default="capped",
                   help="capped (default): balanced weights clipped to 0.5..2 and rescaled "
                   "to a mean of 1 (unchanged when classes are near balanced); balanced: "
                   "each class weighs the same in the loss")
    p.add_argument("--no-noise-holdout", dest="noise_holdout", action="store_false",
                   help="share every _background_noise_ file between the splits (default: "
                   "with 3 or more, whole files are held out for validation and test "
                   "silence, and training mixes in only its own)")
    p.add_argument("--validation-percentage", type=_percentage, default=10.0,
                   help="share of the data held out for validation (hash/auto split)")
    p.add_argument("--testing-percentage", type=_percentage, default=10.0,
                   help="share of the data held out for testing (hash/auto split)")
    p.add_argument("--cache-dir", type=Path, help="feature cache (default .cache/kws/features "
                   "or $KWS_CACHE_DIR/features)")
    p.add_argument("--no-augment", dest="augment", action="store_false",
                   help="train on clean features (no shift, gain or background noise)")
    p.add_argument("--time-shift-ms", type=bounded(float, 0), default=100.0,
                   help="augmentation: random shift of each clip, +- this many ms")
    p.add_argument("--background-probability", type=bounded(float, 0, 1), default=0.8,
                   help="augmentation: chance of mixing background noise into a clip")
    p.add_argument("--snr-db", type=_snr_range, default=(10.0, 40.0), metavar="LO,HI",
                   help="augmentation: signal-to-noise range of the mixed noise (default 10,40)")
    p.add_argument("--time-mask", type=bounded(int, 0), default=None, metavar="FRAMES",
                   help="augmentation: mask one random span of up to FRAMES frames "
                   "(SpecAugment; default: 10 with at most 4 keywords, else 0)")
    p.add_argument("--channel-mask", type=bounded(int, 0), default=None, metavar="CHANNELS",
                   help="augmentation: mask one random span of up to CHANNELS feature "
                   "channels (default: 6 with at most 4 keywords, else 0)")
    p.add_argument("--clip-ms", type=bounded(int, 1), default=1000,
                   help="clip length per example")
    p.add_argument("--init-model", type=Path, metavar="MODEL.keras",
                   help="start from this model's weights (same architecture, frontend and "
                   "label count; e.g. a run's model.keras, to fine-tune on more data)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    add_frontend_args(p)


def _snr_range(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LO,HI in dB, got {text!r}") from None
    if not lo <= hi:
        raise argparse.ArgumentTypeError(f"LO must not exceed HI, got {text!r}")
    return lo, hi


def add_force_arg(parser: argparse.ArgumentParser) -> None:
    """``--force``: write into ``--out`` even when it holds files kws did not write."""
    parser.add_argument("--force", action="store_true",
                        help="write into --out even when it holds files kws did not write")


def check_paths(data: Path, out: Path, *, force: bool = False) -> None:
    """Fail before any slow import when ``data`` is no folder or ``out`` is no run directory
    (absent, empty or an earlier run or export, unless ``force``)."""
    from kws.fileio import check_output_dir

    if not data.exists():
        raise KwsError(f"{data}: dataset folder not found")
    if not data.is_dir():
        raise KwsError(f"{data}: is a file, not a dataset folder")
    # An earlier run, or an export (model.json) that training there supersedes.
    check_output_dir(out, ("train.json", "model.json"), force=force, what="run directory")


def run(args: argparse.Namespace) -> int:
    # kws.train imports TensorFlow only inside train(), after the checks below.
    from kws.train import TrainConfig, train

    check_paths(args.data, args.out, force=args.force)
    words = None
    if args.words:
        words = [w.strip() for w in args.words.split(",") if w.strip()]
        if not words:
            raise KwsError("--words is empty")
    config = TrainConfig(
        data=str(args.data), words=words, model=args.model,
        frontend=frontend_from_args(args).to_dict(), epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, lr_schedule=args.lr_schedule, seed=args.seed,
        label_smoothing=args.label_smoothing, dropout=args.dropout, strategy=args.strategy,
        split=args.split, unknown_percentage=args.unknown_percentage,
        silence_percentage=args.silence_percentage, class_weights=args.class_weights,
        validation_percentage=args.validation_percentage,
        testing_percentage=args.testing_percentage, noise_holdout=args.noise_holdout,
        cache_dir=None if args.cache_dir is None else str(args.cache_dir),
        augment=args.augment, clip_ms=args.clip_ms, time_shift_ms=args.time_shift_ms,
        background_probability=args.background_probability, snr_db=args.snr_db,
        time_mask_frames=args.time_mask, channel_mask_channels=args.channel_mask,
        init_model=None if args.init_model is None else str(args.init_model),
    )
    config.validate()
    train(config, args.out, progress=not args.quiet)
    return 0
