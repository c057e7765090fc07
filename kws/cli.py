"""The ``kws`` command line.

Each subcommand lives in ``kws/commands/<name>.py`` and exposes
``register(subparsers) -> None``, which adds its parser and sets ``func`` (called with the
parsed args, returning an exit code).  Errors derived from :class:`kws.errors.KwsError`
print as one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from kws.errors import KwsError

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
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kws", description="Keyword spotting from microphone to microcontroller."
    )
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


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KwsError as exc:
        print(f"kws: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kws: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
