"""``kws models``: the models shipped with kws, usable by name as ``--model NAME``."""

from __future__ import annotations

import argparse
import json

from kws.commands._args import add_command, add_json_arg


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "models", run, "list the shipped models (use them as --model NAME)",
                    "List the models that ship inside kws: name, labels, frontend and how "
                    "each was trained. Any --model option takes their names, e.g. "
                    "`kws listen --model yes_no`.")
    add_json_arg(p, 'a JSON list of {"name", "path", "labels", "frontend", "about"}')


def run(args: argparse.Namespace) -> int:
    from kws.pretrained import list_models

    models = list_models()
    if args.json:
        print(json.dumps([m.to_json() for m in models], indent=2))
        return 0
    from rich.table import Table

    from kws.console import make_console

    table = Table(title="shipped models (--model NAME)")
    for column in ("name", "labels", "frontend", "about"):
        table.add_column(column, overflow="fold")
    for m in models:
        table.add_row(m.name, ", ".join(m.labels), m.frontend, m.about)
    console = make_console()
    console.print(table)
    if models:
        console.print(f"files: {models[0].path.parent.parent}/<name>/model_int8.tflite")
    return 0
