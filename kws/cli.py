"""The ``kws`` command line.

Each subcommand lives in ``kws/commands/<name>.py`` and exposes
``register(subparsers) -> None``, which adds its parser and sets ``func`` (called with the
parsed args, returning an exit code).  Errors derived from :class:`kws.errors.KwsError`
print as one line and exit with status 2.

Commands validate their arguments before importing TensorFlow, and TensorFlow's start-up
log lines are hidden unless ``--verbose`` is given.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

from kws.commands._args import DefaultsHelpFormatter, add_verbose_arg, resolve_model_args
from kws.console import UNWRAPPED_WIDTH
from kws.errors import KwsError
from kws.quiet import quiet_startup

COMMANDS = [
    "features",
    "train",
    "export",
    "evaluate",
    "demo",
    "deploy",
    "firmware",
    "run",
    "compare",
    "flash",
    "record",
    "simulate",
    "listen",
    "monitor",
    "voices",
    "calibrate",
    "models",
    "wakeword",
]


def build_parser() -> argparse.ArgumentParser:
    """The ``kws`` parser with every subcommand of :data:`COMMANDS` in this checkout."""
    parser = argparse.ArgumentParser(
        prog="kws", description="Keyword spotting from microphone to microcontroller.",
        formatter_class=DefaultsHelpFormatter,
    )
    add_verbose_arg(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"kws.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"kws.commands.{name}":
                raise
            continue  # command not built in this checkout
        module.register(sub)
    return parser


def _report(exc: KwsError) -> int:
    """Print ``exc`` as the one ``kws: error:`` line; the exit status of a KwsError."""
    print(f"kws: error: {exc}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run ``kws ARGV`` (``sys.argv`` when ``None``); returns the exit status."""
    try:
        parser = build_parser()
    except KwsError as exc:  # e.g. an install without the firmware sources
        return _report(exc)
    args = parser.parse_args(argv)
    # Ctrl-C (SIGINT) ends every command with status 130, also when a shell started kws as
    # a background job with SIGINT ignored (then ``kill -INT`` is the way to stop it).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if not args.verbose:
        quiet_startup()
    if argv is None and not sys.stdout.isatty() and not sys.stderr.isatty():
        # Output to files or pipes only: no rich console of any module wraps at 80 columns.
        os.environ.setdefault("COLUMNS", str(UNWRAPPED_WIDTH))
    try:
        resolve_model_args(args)
        return int(args.func(args) or 0)
    except KwsError as exc:
        return _report(exc)
    except KeyboardInterrupt:
        print("kws: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
