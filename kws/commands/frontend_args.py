"""Frontend options shared by every command that computes features (features, train, ...)."""

from __future__ import annotations

import argparse

from kws.errors import KwsError
from kws.features import FrontendConfig, MfccConfig, MicroFrontendConfig

# dest of every frontend option; each is None unless given on the command line.
FRONTEND_OPTIONS = ("frontend", "window_ms", "step_ms", "channels", "pcan", "n_mels", "n_mfcc",
                    "fmin", "fmax")


def add_frontend_args(parser: argparse.ArgumentParser, *, default: str = "micro") -> None:
    """Add ``--frontend`` and its parameters; unset values take the frontend's defaults."""
    g = parser.add_argument_group("frontend")
    g.add_argument("--frontend", choices=["micro", "mfcc"],
                   help=f"feature front end (default: {default})")
    parser.set_defaults(default_frontend=default)
    g.add_argument("--window-ms", type=int, help="window length (micro 30, mfcc 30)")
    g.add_argument("--step-ms", type=int, help="hop between frames (default 20)")
    g.add_argument("--channels", type=int, help="micro: filterbank channels (default 40)")
    g.add_argument("--pcan", dest="pcan", action="store_true", default=None,
                   help="micro: per-channel amplitude normalization (default on)")
    g.add_argument("--no-pcan", dest="pcan", action="store_false",
                   help="micro: no per-channel amplitude normalization")
    g.add_argument("--n-mels", type=int, help="mfcc: mel bins (default 40)")
    g.add_argument("--n-mfcc", type=int, help="mfcc: coefficients kept (default 10)")
    g.add_argument("--fmin", type=float, help="lowest band edge in Hz (micro 125, mfcc 20)")
    g.add_argument("--fmax", type=float, help="highest band edge in Hz (micro 7500, mfcc 4000)")


def frontend_from_args(args: argparse.Namespace) -> FrontendConfig:
    """The frontend config the user asked for; options that do not apply are rejected."""
    common = {"window_ms": args.window_ms, "step_ms": args.step_ms}
    if (args.frontend or args.default_frontend) == "micro":
        if args.n_mels is not None or args.n_mfcc is not None:
            raise KwsError("--n-mels/--n-mfcc apply to --frontend mfcc only")
        params = {**common, "num_channels": args.channels, "enable_pcan": args.pcan,
                  "lower_hz": args.fmin, "upper_hz": args.fmax}
        return MicroFrontendConfig(**{k: v for k, v in params.items() if v is not None})
    if args.channels is not None or args.pcan is not None:
        raise KwsError("--channels/--pcan apply to --frontend micro only")
    params = {**common, "num_mel_bins": args.n_mels, "num_mfcc": args.n_mfcc,
              "lower_hz": args.fmin, "upper_hz": args.fmax}
    return MfccConfig(**{k: v for k, v in params.items() if v is not None})


def frontend_options_given(args: argparse.Namespace) -> list[str]:
    """The frontend options set on the command line, as the user spelled them."""
    spelled = {"pcan": "--pcan/--no-pcan"}
    return [spelled.get(dest, "--" + dest.replace("_", "-")) for dest in FRONTEND_OPTIONS
            if getattr(args, dest) is not None]
