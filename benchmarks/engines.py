"""Engine agreement benchmark: the same random int8 inputs through every engine.

    python benchmarks/engines.py [--model M.tflite] [--random 300] [--out benchmarks/results]

Without ``--model`` the model is a kws DS-CNN-S (49x10 MFCC, 12 classes) with random weights
and random batch-norm statistics, built exactly as ``benchmarks/firmware.py`` builds it, so
anyone can regenerate it.  Runs ``--random`` uniformly random int8 inputs (the inputs of
``kws compare --random N --seed S``) through ``--engines`` and writes ``engines.json`` to
``--out``: the model, the per-pair counts of ``kws compare`` and ``summary``, the sentence the
README quotes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_ENGINES = "tflm,native,qemu,litert"


def build_ds_cnn_s(work: Path) -> Path:
    """The random-weight DS-CNN-S of ``benchmarks/firmware.py`` (same seeds, same file)."""
    spec = importlib.util.spec_from_file_location("bench_firmware",
                                                  Path(__file__).with_name("firmware.py"))
    assert spec is not None and spec.loader is not None
    firmware = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(firmware)
    return firmware.make_ds_cnn("s", work)


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def summary(report: dict[str, Any], engines: list[str]) -> str:
    """One sentence: which engines agree with the first one on every input, and by how much
    each other engine differs from it."""
    ref = engines[0]
    pairs = {(p["a"], p["b"]): p for p in report["pairs"]}
    to_ref = {e: pairs[(ref, e)] for e in engines[1:]}
    same = [ref] + [e for e, p in to_ref.items() if p["mismatched_tensors"] == 0]
    parts = [f"finds {_join(same)} identical on all {report['inputs']} inputs"
             if len(same) > 1 else f"finds no engine identical to {ref}"]
    for e, p in to_ref.items():
        if p["mismatched_tensors"]:
            outputs = p["mismatched_tensors"]
            parts.append(f"{e} differs from {'them' if len(same) > 1 else ref} in "
                         f"{p['mismatched_elements']} values of {outputs} "
                         f"output{'s' if outputs != 1 else ''}, by at most {p['max_abs_diff']}")
    return ", while ".join(parts)


def main(argv: list[str] | None = None) -> int:
    from kws.engine_compare import compare_engines, random_inputs
    from kws.quiet import quiet_startup

    quiet_startup()

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", type=Path, help="int8 .tflite to compare (default: the "
                        "random-weight DS-CNN-S of benchmarks/firmware.py)")
    parser.add_argument("--engines", default=DEFAULT_ENGINES, help="comma-separated engines, "
                        "the first is the reference")
    parser.add_argument("--random", type=int, default=300, help="random int8 inputs")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results",
                        help="folder of engines.json")
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or build_ds_cnn_s(Path(tmp))
        inputs = random_inputs(model, args.random, args.seed)
        report = compare_engines(model, engines, inputs)
        model_bytes = model.stat().st_size
    result = {
        "model": str(args.model) if args.model else "ds-cnn-s (random weights, "
                 "benchmarks/firmware.py make_ds_cnn)",
        "model_bytes": model_bytes, "engines": engines, "random_inputs": args.random,
        "seed": args.seed, "pairs": report["pairs"],
        "command": f"kws compare --model M --engines {','.join(engines)} --random "
                   f"{args.random} --seed {args.seed}",
    }
    result["summary"] = f"`{result['command']}` {summary(report, engines)}."
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "engines.json"
    tmp_path = path.with_suffix(".json.tmp")
    tmp_path.write_text(json.dumps(result, indent=2) + "\n")
    tmp_path.replace(path)
    print(result["summary"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
