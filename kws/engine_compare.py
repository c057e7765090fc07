"""Run the same int8 inputs on several engines and count where their outputs differ.

Inputs are random int8 tensors (:func:`random_inputs`) or real clips' features through the
model's input contract (:func:`wav_inputs`); :func:`compare_engines` runs them on each engine
and compares every pair with :func:`kws.engines.compare_outputs`.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np

from kws.errors import KwsError

# Inputs handed to an engine at a time (keeps the progress bar moving on slow engines).
CHUNK = 50


def random_inputs(model_path: Path, count: int, seed: int) -> list[np.ndarray]:
    """``count`` uniformly random int8 inputs of the model's input shape."""
    from kws.modelinfo import open_model

    in_q = open_model(model_path).input
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, size=in_q.shape, dtype=np.int16).astype(np.int8)
            for _ in range(count)]


def wav_inputs(model_path: Path, wav_dir: Path) -> tuple[list[np.ndarray], list[str]]:
    """int8 model inputs from every WAV under ``wav_dir`` through the model's input contract
    (``model.json`` beside the model); each clip is cut or zero-padded at its end to exactly
    one model window.  Returns the inputs and the WAV paths."""
    from kws.audio import load_audio
    from kws.features.quantize import InputContract
    from kws.modelinfo import check_model_json, open_model

    facts = open_model(model_path)
    meta_path = Path(model_path).with_name("model.json")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        meta = None  # InputContract.from_model says what is wrong with it
    if isinstance(meta, dict):
        check_model_json(facts, meta, meta_path)
    contract = InputContract.from_model(model_path)
    if not wav_dir.is_dir():
        raise KwsError(f"{wav_dir}: not a directory")
    paths = wav_paths(wav_dir)
    inputs = [contract.clip_input(load_audio(p, contract.frontend.sample_rate)) for p in paths]
    return inputs, [str(p) for p in paths]


def wav_paths(path: Path, limit: int | None = None) -> list[Path]:
    """``path`` itself when it is a file, else every ``.wav`` under it (sorted; the first
    ``limit``)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise KwsError(f"{path}: no such file or directory")
    paths = sorted(p for p in path.rglob("*") if p.suffix.lower() == ".wav")
    if not paths:
        raise KwsError(f"{path}: no .wav files")
    return paths[:limit]


def compare_engines(model_path: Path, engines: list[str], inputs: list[np.ndarray],
                    progress: bool = True, keep_outputs: bool = False) -> dict[str, Any]:
    """Run ``inputs`` on every engine.

    Returns
    -------
    dict
        ``model``, ``inputs`` (count) and ``pairs``: one dict per engine pair, ``a``, ``b``
        and the :func:`kws.engines.compare_outputs` counts; with ``keep_outputs`` also
        ``outputs``: engine name -> its output arrays.
    """
    from rich.progress import Progress

    from kws.engines import check_model, compare_outputs, get_engine, run_model

    if len(engines) < 2:
        raise KwsError(f"comparing needs at least two engines (got {', '.join(engines)})")
    if len(set(engines)) != len(engines):
        raise KwsError(f"an engine is listed twice ({', '.join(engines)})")
    for name in engines:
        get_engine(name)  # fail early on an unknown engine or a model one cannot run
        check_model(name, model_path)
    if not inputs:
        raise KwsError("nothing to compare (no inputs)")
    outputs: dict[str, list[np.ndarray]] = {}
    with Progress(transient=True, disable=not progress) as bar:
        for name in engines:
            task = bar.add_task(name, total=len(inputs))
            result: list[np.ndarray] = []
            for start in range(0, len(inputs), CHUNK):
                result += run_model(name, model_path, inputs[start : start + CHUNK])
                bar.advance(task, len(inputs[start : start + CHUNK]))
            outputs[name] = result
    pairs = [{"a": a, "b": b, **compare_outputs(outputs[a], outputs[b])}
             for a, b in itertools.combinations(engines, 2)]
    report = {"model": str(model_path), "inputs": len(inputs), "pairs": pairs}
    if keep_outputs:
        report["outputs"] = outputs
    return report


def differing_pairs(report: dict[str, Any]) -> list[str]:
    """The engine pairs of a :func:`compare_engines` report whose outputs differ, as
    ``"a/b: N of M outputs, K values, max |diff| D"``."""
    return [f"{p['a']}/{p['b']}: {p['mismatched_tensors']} of {p['tensors']} outputs, "
            f"{p['mismatched_elements']} values, max |diff| {p['max_abs_diff']}"
            for p in report["pairs"] if p["mismatched_tensors"]]
