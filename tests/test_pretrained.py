"""The models shipped in ``kws/pretrained/``: each loads and matches its model.json, ``kws
models`` lists them, every ``--model`` takes their names, and they recognise real words
through the firmware application built for the host (``kws simulate``)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from kws.cli import main
from kws.errors import KwsError
from kws.pretrained import (
    META_FILE,
    MODEL_FILE,
    PRETRAINED_DIR,
    list_models,
    resolve_model,
    shipped_name,
)

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[1]
SPEECH_COMMANDS_12 = ["_silence_", "_unknown_", "yes", "no", "up", "down", "left", "right",
                      "on", "off", "stop", "go"]
# name -> (labels, frontend kind)
EXPECTED = {
    "speech_commands_12": (SPEECH_COMMANDS_12, "mfcc"),
    "yes_no": (["_silence_", "_unknown_", "yes", "no"], "micro"),
}
# Speech Commands clips of speakers the shipped 12-class model never saw (its run's test
# split), each padded with silence into a stream: word -> fixture.
HELD_OUT_WORDS = {"stop": "sc_stop_5170b77f_nohash_3.wav",
                  "off": "sc_off_692a88e6_nohash_3.wav",
                  "left": "sc_left_cfbedff9_nohash_3.wav"}


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch) -> None:
    monkeypatch.setenv("KWS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "kws-cache"))


def _build_script():
    spec = importlib.util.spec_from_file_location("models_build", REPO / "models" / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["models_build"] = module
    spec.loader.exec_module(module)
    return module


def _padded(wav: Path, out: Path) -> Path:
    """``wav`` with 0.5 s of silence before and 1 s after: a stream the app's window can
    slide over (a 1 s clip alone fills it once)."""
    audio, rate = sf.read(wav, dtype="int16")
    assert rate == 16000
    silence = np.zeros(rate // 2, np.int16)
    sf.write(out, np.concatenate([silence, audio, silence, silence]), rate, subtype="PCM_16")
    return out


def _simulate(capsys, model: str, wav: Path) -> dict:
    capsys.readouterr()
    assert main(["simulate", "--model", model, str(wav), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_every_shipped_model_loads_and_matches_its_model_json() -> None:
    from kws.modelinfo import check_model_json, open_model

    models = {m.name: m for m in list_models()}
    assert set(EXPECTED) <= set(models), sorted(models)
    for name, m in models.items():
        meta = json.loads((m.path.parent / META_FILE).read_text())
        facts = open_model(m.path, require_supported=True)  # the compiler takes every op
        check_model_json(facts, meta, m.path.parent / META_FILE)
        assert m.path == PRETRAINED_DIR / name / MODEL_FILE and m.path.is_absolute()
        assert list(m.labels) == meta["labels"] and facts.output.shape[-1] == len(m.labels)
        assert m.frontend == meta["frontend"]["type"]
        assert meta["file_size"] == m.path.stat().st_size < 60_000
        # How it was made: the run's test accuracy and the exact command, from models/build.py.
        assert meta["built_from"]["script"] == "models/build.py"
        assert "test accuracy" in m.about and "command: " in m.about, m.about
        if name in EXPECTED:
            labels, frontend = EXPECTED[name]
            assert (list(m.labels), m.frontend) == (labels, frontend)
            results = meta["built_from"]["results"]
            assert f"test accuracy {100 * results['int8_accuracy']:.1f}%" in m.about
            assert results["tflite_bytes"] == m.path.stat().st_size


def test_kws_models_json_and_table(capsys) -> None:
    assert main(["models", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in listed] == sorted(e["name"] for e in listed)
    for entry in listed:
        assert {"name", "path", "labels", "frontend"} <= set(entry)
        path = Path(entry["path"])
        assert path.is_absolute() and path.suffix == ".tflite" and path.is_file()
        assert json.loads((path.parent / META_FILE).read_text())["labels"] == entry["labels"]
    assert {e["name"]: (e["labels"], e["frontend"]) for e in listed
            if e["name"] in EXPECTED} == EXPECTED
    assert main(["models"]) == 0
    table = capsys.readouterr().out
    assert all(name in table for name in EXPECTED)


def test_resolve_model_prefers_paths_then_names(tmp_path, monkeypatch) -> None:
    shipped = resolve_model("yes_no")
    assert shipped == PRETRAINED_DIR / "yes_no" / MODEL_FILE and shipped.is_file()
    # An existing file wins over a shipped name; a run folder gives its model.
    monkeypatch.chdir(tmp_path)
    Path("yes_no").write_bytes(b"mine")
    assert resolve_model("yes_no") == Path("yes_no")
    run = tmp_path / "run"
    run.mkdir()
    (run / MODEL_FILE).write_bytes(b"x")
    assert resolve_model(run) == run / MODEL_FILE
    # Another existing path passes through: the model checks say what is wrong with it.
    assert resolve_model(tmp_path) == tmp_path
    assert shipped_name(shipped) == "yes_no" and shipped_name(run / MODEL_FILE) is None
    names = ", ".join(m.name for m in list_models())
    with pytest.raises(KwsError) as err:
        resolve_model("marvn")
    assert str(err.value) == (f"marvn: model file not found and no shipped model named "
                              f"'marvn' (shipped: {names})")
    for path in ("runs/marvn", "marvn.tflite"):  # paths, not names
        with pytest.raises(KwsError) as err:
            resolve_model(path)
        assert str(err.value) == f"{path}: model file not found"


def test_unknown_model_names_are_one_line_errors(tmp_path, capsys) -> None:
    wav = FIXTURES / "yes_1000ms.wav"
    for argv in (["simulate", "--model", "nope", str(wav)],
                 ["deploy", "nope", "--out", str(tmp_path / "fw")],
                 ["deploy", "--model", "nope", "--out", str(tmp_path / "fw")],
                 ["run", "--engine", "tflm", "--model", "nope", "--input", str(wav),
                  "--output", str(tmp_path / "y.npy")],
                 ["features", str(wav), "-o", str(tmp_path / "x.npy"), "--model", "nope"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "no shipped model named 'nope' (shipped: " in err, err
    # kws calibrate writes model.json and calibration/ beside the model: not into the package.
    assert main(["calibrate", "--model", "yes_no", "--positives", str(wav), "--negatives",
                 str(wav)]) == 2
    err = capsys.readouterr().err
    assert "yes_no: a shipped model, and kws calibrate writes beside it" in err, err
    assert not (PRETRAINED_DIR / "yes_no" / "calibration").exists()
    assert main(["deploy", "--out", str(tmp_path / "fw")]) == 2
    assert "kws deploy needs a model" in capsys.readouterr().err
    assert main(["deploy", "yes_no", "--model", "yes_no", "--out", str(tmp_path / "fw")]) == 2
    assert "two models given" in capsys.readouterr().err
    assert not (tmp_path / "fw").exists() and not (tmp_path / "x.npy").exists()


def test_deploy_and_features_take_a_shipped_name(tmp_path, capsys) -> None:
    out = tmp_path / "fw"
    assert main(["deploy", "--model", "speech_commands_12", "--out", str(out), "--json"]) == 0
    project = json.loads(capsys.readouterr().out)
    assert project["labels"] == SPEECH_COMMANDS_12 and project["frontend_kind"] == "mfcc"
    assert (out / "project.json").is_file()
    x = tmp_path / "x.npy"
    assert main(["features", str(FIXTURES / "yes_1000ms.wav"), "-o", str(x), "--model",
                 "yes_no", "--int8"]) == 0
    meta = json.loads((PRETRAINED_DIR / "yes_no" / META_FILE).read_text())
    assert np.load(x).shape == (1, *meta["input_shape"])  # one window of the 1 s clip


def test_simulate_recognises_held_out_words_with_the_12_class_model(tmp_path, capsys) -> None:
    """Real clips of speakers outside the model's training data, through the host build of
    the firmware app: one detection each, of the right word, with the output's shape."""
    for word, fixture in HELD_OUT_WORDS.items():
        result = _simulate(capsys, "speech_commands_12",
                           _padded(FIXTURES / fixture, tmp_path / fixture))
        assert result["labels"] == SPEECH_COMMANDS_12
        assert result["duration_s"] == pytest.approx(2.5) and result["inferences"] >= 3
        assert [d["label"] for d in result["detections"]] == [word], (fixture, result)
        detection = result["detections"][0]
        assert set(detection) >= {"time_s", "label", "score"}
        assert detection["score"] >= result["settings"]["threshold"]
        assert 0.5 < detection["time_s"] <= 2.5  # after the word started


def test_simulate_with_the_yes_no_model(tmp_path, capsys) -> None:
    for word in ("yes", "no"):
        wav = _padded(FIXTURES / f"{word}_1000ms.wav", tmp_path / f"{word}.wav")
        result = _simulate(capsys, "yes_no", wav)
        assert result["labels"] == EXPECTED["yes_no"][0]
        assert [d["label"] for d in result["detections"]] == [word], result
    silence = _padded(FIXTURES / "silence_1000ms.wav", tmp_path / "silence.wav")
    assert _simulate(capsys, "yes_no", silence)["detections"] == []


def test_build_script_installs_a_run_with_its_about_line(tmp_path) -> None:
    """models/build.py --from-run on a run folder rebuilt from a shipped model (its model,
    model.json and the results.json kept in built_from) writes the same model and about
    line; a run of other labels is refused."""
    build = _build_script()
    for name in EXPECTED:
        shipped = PRETRAINED_DIR / name
        meta = json.loads((shipped / META_FILE).read_text())
        run = tmp_path / "runs" / name
        run.mkdir(parents=True)
        shutil.copy(shipped / MODEL_FILE, run / MODEL_FILE)
        results = meta.pop("built_from")["results"]
        about = meta.pop("about")
        (run / META_FILE).write_text(json.dumps(meta))
        (run / "results.json").write_text(json.dumps(results))
        dest = tmp_path / "pretrained"
        assert build.main(["--from-run", str(run), "--only", name, "--dest", str(dest)]) == 0
        rebuilt = json.loads((dest / name / META_FILE).read_text())
        assert rebuilt["about"] == about and rebuilt["built_from"]["results"] == results
        assert (dest / name / MODEL_FILE).read_bytes() == (shipped / MODEL_FILE).read_bytes()
    assert [m.name for m in list_models(tmp_path / "pretrained")] == sorted(EXPECTED)
    with pytest.raises(KwsError, match="labels .* speech_commands_12 has"):
        build.install(build.RECIPES["speech_commands_12"], tmp_path / "runs" / "yes_no",
                      tmp_path / "other")
    assert not (tmp_path / "other").exists()
    assert build.main(["--from-run", str(tmp_path / "runs" / "yes_no")]) == 2


def test_readme_table_states_the_shipped_accuracy() -> None:
    readme = (REPO / "README.md").read_text()
    for m in list_models():
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{m.name}` |")),
                   None)
        assert row is not None, f"README's Shipped models table lacks {m.name}"
        results = json.loads((m.path.parent / META_FILE).read_text())["built_from"].get(
            "results")
        if results is None:
            continue  # not a benchmarks/speech_commands.py run (a kws wakeword run)
        assert (f"| {100 * results['int8_accuracy']:.1f}% "
                f"({100 * results['int8_balanced_accuracy']:.1f}%) |") in row, row
        assert f"| {results['tflite_bytes']:,} |" in row, row


def test_every_model_option_takes_shipped_names() -> None:
    import argparse

    from kws.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    resolving = {name for name, p in sub.choices.items() if p.get_default("model_resolution")}
    assert {"listen", "simulate", "deploy", "run", "compare", "evaluate", "monitor",
            "features"} <= resolving
    assert "train" not in resolving  # its --model is an architecture name
