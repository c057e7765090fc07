"""Rebuild the models shipped in kws/pretrained/ from their benchmark runs.

Each shipped model is the int8 model of one documented run: this script reruns it (or takes
a finished run with ``--from-run``), copies ``model_int8.tflite`` and ``model.json`` into
``kws/pretrained/<name>/``, and adds to ``model.json`` an ``about`` line (data, split,
frontend, size, test accuracy of that run, the exact command) and a ``built_from`` record.

    python models/build.py --data ../shared/data/speech_commands_v0.02_test_subset
    python models/build.py --data ../shared/data/speech_commands_v0.02_test_subset --only yes_no
    python models/build.py --from-run runs/bench/yes_no_seed0 --only yes_no

Training reruns take 25-30 minutes per Speech Commands model on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kws.errors import KwsError
from kws.fileio import write_atomic, write_json_atomic
from kws.pretrained import META_FILE, MODEL_FILE, PRETRAINED_DIR

REPO = Path(__file__).resolve().parents[1]
BENCHMARK = "benchmarks/speech_commands.py"
SPEECH_COMMANDS_12 = ["_silence_", "_unknown_", "yes", "no", "up", "down", "left", "right",
                      "on", "off", "stop", "go"]


@dataclass(frozen=True)
class Recipe:
    """How one shipped model is made: the command (``{data}``/``{out}`` filled in), what its
    labels and frontend must be, and the ``about`` line of a finished run."""

    name: str
    command: tuple[str, ...]
    labels: tuple[str, ...] | None  # None: whatever the run has (a wake word's own label)
    frontend: str | None  # None: the run's (kws wakeword picks its own)
    describe: Callable[[Path, dict[str, Any]], str]
    needs_data: bool = True
    # Folders the command needs beyond {data}/{out}: (data, out) -> more format keys.
    prepare: Callable[[Path, Path], dict[str, str]] | None = None


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _option(argv: list[str], name: str, default: str) -> str:
    """The value of option ``name`` in ``argv`` (``--name V`` or ``--name=V``)."""
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return default


def benchmark_about(run: Path, meta: dict[str, Any]) -> str:
    """The ``about`` line of a ``benchmarks/speech_commands.py`` run (its results.json)."""
    results = _read_json(run / "results.json")
    counts = results["test_examples_per_class"]
    argv = results["argv"]
    # Runs of --seeds record their own seed; older runs only the command line.
    seed = results.get("seed", _option(argv, "--seed", "0"))
    split_seed = results.get("split_seed", seed)
    which = f" (its seed{seed}/ run)" if "--seeds" in argv else ""
    words = [label for label in results_labels(results) if not label.startswith("_")]
    return (
        f"{meta['architecture']} ({meta['params']:,} params, {meta['macs']:,} MACs, "
        f"{meta['file_size']:,} B int8) detecting {', '.join(words)} (+ _silence_, "
        f"_unknown_), {meta['frontend']['type']} frontend; trained on "
        f"{Path(results['data']).name} (Speech Commands v0.02, CC BY 4.0) with whole "
        f"speakers held out (seed {seed}, split seed {split_seed}): "
        f"{results['train_examples']:,} training, "
        f"{results['validation_examples']:,} validation, {results['test_examples']:,} test "
        f"clips, best epoch {results['best_epoch']} of {results['epochs']}; int8 "
        f"(tflite-micro) test accuracy {_pct(results['int8_accuracy'])}, balanced "
        f"{_pct(results['int8_balanced_accuracy'])}, unknown false accepts "
        f"{_pct(results['unknown_false_accept_rate'])} on {sum(counts.values())} clips of "
        f"unseen speakers; command: python {BENCHMARK} {shlex.join(argv)}{which}")


def _folders(paths: list[str]) -> str:
    """Folders named by their parent, e.g. "speech_commands (34 folders)"."""
    parents: dict[str, int] = {}
    for path in paths:
        parents[Path(path).parent.name] = parents.get(Path(path).parent.name, 0) + 1
    return ", ".join(f"{name} ({n} folder{'s' * (n > 1)})" for name, n in parents.items()) \
        or "none"


def wakeword_about(run: Path, meta: dict[str, Any]) -> str:
    """The ``about`` line of a ``kws wakeword`` run (its model.json calibration and its
    ``wakeword.json`` summary)."""
    calib = meta.get("calibration")
    if not isinstance(calib, dict):
        raise KwsError(f"{run / META_FILE}: no calibration section (not a kws wakeword run)")
    summary = _read_json(run / "wakeword.json")
    data = summary.get("data", {})
    sources = summary.get("sources", {})
    command = [summary["word"], "--out", "DIR", "--seed", str(summary["seed"]),
               "--target-fa-per-hour", str(summary["target_fa_per_hour"])]
    if summary.get("size") == "tiny":
        command.append("--tiny")
    voices = data.get("voices")
    made = (f"{len(voices)} synthetic voices ({', '.join(data.get('engines', []))})"
            if isinstance(voices, list) else "synthetic voices")
    return (
        f"{meta['architecture']} ({meta['params']:,} params, {meta['file_size']:,} B int8) "
        f"detecting {summary['word']!r}, {meta['frontend']['type']} frontend; trained by "
        f"`kws wakeword` on {made}, int8 test accuracy {_pct(meta.get('int8_accuracy'))}; "
        f"calibrated on {calib['hours']:.2f} h of negative streams: "
        f"{calib['fa_per_hour']:.2f} false accepts/h (target "
        f"{summary['target_fa_per_hour']}/h), false rejects {_pct(calib['frr'])} of "
        f"{calib['positives']} held-out positives; negative speech from "
        f"{_folders(sources.get('negatives', []))}; command: "
        f"kws wakeword {shlex.join(command)}")


def results_labels(results: dict[str, Any]) -> list[str]:
    """Labels of a benchmark run in output order (the per-class counts keep it)."""
    return list(results["test_examples_per_class"])


def training_half(data: Path, out: Path) -> dict[str, str]:
    """``{speech}``/``{noise}``: the training half of the wake-word benchmark's split of
    ``data``'s parent (Speech Commands speakers, Precise not-wake-words, the first 70 % of
    each noise file; ``benchmarks/wakeword.py``), so that the other half stays unheard for
    ``benchmarks/wakeword_speech_commands.py``."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from wakeword import split_sources  # benchmarks/wakeword.py

    sources = split_sources(data.resolve().parent, out.parent / f"{out.name}_sources", 0)
    return {"speech": str(sources["train_speech"]), "noise": str(sources["train_noise"])}


RECIPES = {r.name: r for r in (
    Recipe("speech_commands_12", (BENCHMARK, "--data", "{data}", "--out", "{out}"),
           tuple(SPEECH_COMMANDS_12), "mfcc", benchmark_about),
    Recipe("yes_no", (BENCHMARK, "--data", "{data}", "--out", "{out}", "--words", "yes,no",
                      "--frontend", "micro", "--epochs", "80", "--channel-mask", "6"),
           ("_silence_", "_unknown_", "yes", "no"), "micro", benchmark_about),
    Recipe("marvin", ("-m", "kws.cli", "wakeword", "marvin", "--out", "{out}", "--seed", "0",
                      "--negatives", "{speech}", "--noise", "{noise}"),
           None, None, wakeword_about, prepare=training_half),
)}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise KwsError(f"{path}: not found (not a finished run)") from None
    except (OSError, ValueError) as exc:
        raise KwsError(f"{path}: unreadable ({exc})") from None


def train(recipe: Recipe, data: Path | None, out: Path) -> None:
    """Run ``recipe``'s command into ``out`` (paths as given, from here)."""
    if recipe.needs_data and data is None:
        raise KwsError(f"{recipe.name}: --data is needed to retrain it")
    extra = {} if recipe.prepare is None or data is None else recipe.prepare(data, out)
    argv = [a.format(data=data, out=out, **extra) for a in recipe.command]
    print("$ python " + shlex.join(argv), flush=True)
    script = [str(REPO / argv[0])] if argv[0].endswith(".py") else argv[:1]
    if subprocess.run([sys.executable, *script, *argv[1:]]).returncode:
        raise KwsError(f"{recipe.name}: training failed (command above)")


def install(recipe: Recipe, run: Path, dest_root: Path = PRETRAINED_DIR) -> dict[str, Any]:
    """Copy ``run``'s int8 model into ``dest_root/<name>/`` with an ``about`` line; the run
    must have the recipe's labels and frontend, and the model must match its model.json."""
    from kws.modelinfo import check_model_json, open_model

    meta = _read_json(run / META_FILE)
    facts = open_model(run / MODEL_FILE, require_supported=True)
    check_model_json(facts, meta, run / META_FILE)
    if recipe.labels is not None and tuple(meta["labels"]) != recipe.labels:
        raise KwsError(f"{run}: labels {meta['labels']}, {recipe.name} has "
                       f"{list(recipe.labels)}")
    if recipe.frontend is not None and meta["frontend"]["type"] != recipe.frontend:
        raise KwsError(f"{run}: {meta['frontend']['type']} frontend, {recipe.name} has "
                       f"{recipe.frontend}")
    meta["about"] = recipe.describe(run, meta)
    meta["built_from"] = {"run": str(run), "script": "models/build.py"}
    if (run / "results.json").is_file():
        meta["built_from"]["results"] = _read_json(run / "results.json")
    dest = dest_root / recipe.name
    dest.mkdir(parents=True, exist_ok=True)
    with (run / MODEL_FILE).open("rb") as src:
        write_atomic(dest / MODEL_FILE, lambda f: shutil.copyfileobj(src, f))
    write_json_atomic(dest / META_FILE, meta)
    return meta


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, help="Speech Commands folder (for retraining)")
    p.add_argument("--only", choices=sorted(RECIPES), action="append",
                   help="build only this model (repeatable; default: all)")
    p.add_argument("--runs", type=Path, default=REPO / "runs" / "models",
                   help="where retraining writes its runs (RUNS/<name>)")
    p.add_argument("--from-run", type=Path,
                   help="take this finished run instead of retraining (needs one --only)")
    p.add_argument("--dest", type=Path, default=PRETRAINED_DIR, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = args.only or sorted(RECIPES)
    try:
        if args.from_run is not None:
            if len(names) != 1 or not args.only:
                raise KwsError("--from-run needs exactly one --only NAME")
            runs = {names[0]: args.from_run}
        else:
            runs = {name: args.runs / name for name in names}
            for name in names:
                train(RECIPES[name], args.data, runs[name])
        for name, run in runs.items():
            meta = install(RECIPES[name], run, args.dest)
            print(f"{args.dest / name}: {meta['about']}")
    except KwsError as exc:
        print(f"build.py: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
