"""A finished ``kws wakeword`` run tested on the real Speech Commands clips of its word.

    nice -n 10 python benchmarks/wakeword_speech_commands.py --run runs/marvin \\
        --data ../shared/data --work runs/wakeword_sc --out benchmarks/results

The shipped "marvin" model (``models/build.py``) is such a run: synthetic voices only, other
speech from the bundled Speech Commands sample.  This script measures it on real people:

- positives: every clip of the word in ``DATA/speech_commands_v0.02_test_subset/<word>/``
  (``kws wakeword`` never trains on the wake word's own folder), spliced into noise;
- negatives: an hour of stream from the subset's other clips that the run's negative
  folders do not hold (matched by folder and file name), and the last 30 % of each
  ``_background_noise_`` file (the run may have heard the whole files: noise gave no false
  accepts in our measurements, speech does).

Both through the host build of the firmware application, as :mod:`wakeword` does
(:func:`wakeword.evaluate`): FRR and FA/h as shipped (``model.json``) and the lowest FRR at
<= 1 FA/h.  Writes ``wakeword_speech_commands.json`` and ``.md`` to ``--out`` (one row per
word; rows of other words are kept).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wakeword import FA_BAR, PRECISE, SPEECH_SUBSET, TEST_HOURS, _link, _pct, evaluate, split_noise

from kws.fileio import write_json_atomic, write_text_atomic

RESULTS = "wakeword_speech_commands"


def training_files(run: Path) -> set[tuple[str, str]]:
    """``(folder, file name)`` of every audio file in the run's negative source folders."""
    summary = json.loads((run / "wakeword.json").read_text())
    seen = set()
    for folder in summary["sources"]["negatives"]:
        for wav in Path(folder).rglob("*.wav"):
            seen.add((wav.parent.name, wav.name))
    return seen


def test_sources(data: Path, work: Path, word: str, run: Path) -> dict[str, Path]:
    """Folders of test speech (no clip of ``word``, none the run trained on) and test noise."""
    subset = data / SPEECH_SUBSET
    speech, noise = work / f"test_speech_{word}", work / "test_noise"
    used = training_files(run)
    for folder in sorted(p for p in subset.iterdir() if p.is_dir()):
        if folder.name.startswith("_") or folder.name == word:
            continue
        for wav in sorted(folder.glob("*.wav")):
            if (folder.name, wav.name) not in used:
                _link(wav, speech / folder.name / wav.name)
    for wav in sorted((data / PRECISE / "not-wake-words" / "en").glob("*.wav")):
        _link(wav, speech / "not_wake_words" / wav.name)
    if not noise.is_dir():
        split_noise(subset / "_background_noise_", work / "train_noise", noise)
    return {"test_speech": speech, "test_noise": noise}


def markdown(rows: list[dict[str, Any]]) -> str:
    """The README table."""
    lines = ["| word | real test clips | FRR at ≤ 1 FA/h | FA/h there | FRR as shipped | "
             "FA/h as shipped |", "|---|--:|--:|--:|--:|--:|"]
    for r in rows:
        t = r["test"]
        shipped = t["as_shipped"] or {}
        lines.append(f"| {r['word']} | {t['test_positives']} | {_pct(t['at_bar']['frr'])} | "
                     f"{t['at_bar']['fa_per_hour']:.2f} | {_pct(shipped.get('frr'))} | "
                     + (f"{shipped['fa_per_hour']:.2f} |" if shipped else "— |"))
    return "\n".join(lines) + "\n"


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a finished kws wakeword run")
    parser.add_argument("--data", type=Path, default=root.parent / "shared" / "data")
    parser.add_argument("--work", type=Path, default=root / "runs" / "wakeword_sc")
    parser.add_argument("--out", type=Path, default=root / "benchmarks" / "results")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    summary = json.loads((args.run / "wakeword.json").read_text())
    word = summary["label"]
    positives = sorted((args.data / SPEECH_SUBSET / word).glob("*.wav"))
    if not positives:
        print(f"{args.data / SPEECH_SUBSET / word}: no clips of {word!r}", file=sys.stderr)
        return 2
    sources = test_sources(args.data, args.work, word, args.run)
    row = {"word": word, "run": str(args.run), "about": summary.get("settings"),
           "test": evaluate(args.run, word, positives, sources, args.seed)}
    path = args.out / f"{RESULTS}.json"
    rows = json.loads(path.read_text())["rows"] if path.is_file() else []
    rows = sorted([r for r in rows if r["word"] != word] + [row], key=lambda r: r["word"])
    write_json_atomic(path, {"rows": rows, "fa_bar_per_hour": FA_BAR, "test_hours": TEST_HOURS})
    write_text_atomic(args.out / f"{RESULTS}.md", markdown(rows))
    print(markdown(rows), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
