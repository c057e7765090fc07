"""Parser pieces every ``kws`` command shares: the subparser itself and common options."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

Command = Callable[[argparse.Namespace], int]


def add_command(sub: argparse._SubParsersAction, name: str, func: Command | None, summary: str,
                description: str | None = None, *, as_written: bool = False
                ) -> argparse.ArgumentParser:
    """Add subcommand ``name`` whose parsed arguments go to ``func`` (``None``: to the
    actions it adds in turn).

    ``summary`` is its line in ``kws --help``, ``description`` the text of its own ``--help``
    (rewrapped, or laid out ``as_written``, e.g. a module docstring).
    """
    formatter = argparse.RawDescriptionHelpFormatter if as_written else argparse.HelpFormatter
    parser = sub.add_parser(name, help=summary, description=description or summary,
                            formatter_class=formatter)
    if func is not None:
        parser.set_defaults(func=func)
    return parser


def add_model_arg(parser: argparse.ArgumentParser, *, required: bool = True,
                  positional: bool = False) -> None:
    """The int8 ``.tflite`` a command works on (``--model``, or positional ``model``)."""
    help_text = "int8 .tflite model (model.json beside it from kws export)"
    if positional:
        parser.add_argument("model", type=Path, help=help_text)
    else:
        parser.add_argument("--model", type=Path, required=required, help=help_text)


def add_json_arg(parser: argparse.ArgumentParser, what: str = "one JSON object") -> None:
    """``--json``: machine-readable output on stdout."""
    parser.add_argument("--json", action="store_true", help=f"print {what}")
