"""``kws voices``: the offline TTS engines installed here and how many voices each gives.

These are the voices ``kws wakeword`` speaks its synthetic positives and confusable
negatives with.  Engines that are not installed are listed with how to install them.
"""

from __future__ import annotations

import argparse
import json

from kws.commands._args import add_command, add_json_arg

# Voice names shown per engine in the table (all of them with --json).
EXAMPLE_NAMES = 4


def register(sub: argparse._SubParsersAction) -> None:
    summary = "list the installed text-to-speech engines and voices (for kws wakeword)"
    p = add_command(sub, "voices", run, summary, __doc__, as_written=True)
    add_json_arg(p, "a JSON list: engine, installed, voices (count), names, source")


def voice_summary() -> list[dict]:
    """One entry per known engine: name, whether installed, voice count and names, source."""
    from kws.wakeword.engines import all_engines
    from kws.wakeword.tts import installed_engines, installed_voices

    present = set(installed_engines())
    rows = []
    for engine in all_engines():
        names = [v.name for v in installed_voices([engine.name])] if engine.name in present else []
        rows.append({"engine": engine.name, "installed": engine.name in present,
                     "voices": len(names), "names": names, "source": engine.source})
    return rows


def run(args: argparse.Namespace) -> int:
    rows = voice_summary()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    from rich.markup import escape
    from rich.table import Table

    from kws.console import make_console

    table = Table(title="kws voices: offline TTS engines")
    for column in ("engine", "voices", "examples", "source"):
        table.add_column(column, justify="right" if column == "voices" else "left")
    for row in rows:
        names = row["names"]
        # Evenly spread examples show the range (accents and variants), not the first few.
        shown = names[::max(1, -(-len(names) // EXAMPLE_NAMES))]
        examples = ", ".join(shown) + (", ..." if len(shown) < len(names) else "")
        table.add_row(row["engine"], str(row["voices"]) if row["installed"] else "-",
                      escape(examples if row["installed"] else "not installed"),
                      escape(row["source"]))
    console = make_console()
    console.print(table)
    total = sum(row["voices"] for row in rows)
    engines = sum(row["installed"] for row in rows)
    console.print(f"{total} voices from {engines} of {len(rows)} engines")
    return 0
