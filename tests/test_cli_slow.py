"""Slow end-to-end CLI runs: ``kws demo`` on a tiny setting and ``kws train --strategy
multiworker`` with two worker processes on localhost."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import assert_no_tf_noise, require_tool

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "datasets" / "speech_commands_sample"

pytestmark = pytest.mark.slow


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports on 127.0.0.1 that were free a moment ago."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def kws_env(cache: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "TF_CPP_MIN_LOG_LEVEL")}
    return {**env, "KWS_CACHE_DIR": str(cache), **extra}


def test_train_multiworker_two_local_workers(tmp_path: Path) -> None:
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "kws.cli", "train", "--data", str(SAMPLE), "--words",
             "yes,no", "--model", "ds-cnn-xs", "--epochs", "1", "--strategy", "multiworker",
             "--out", str(tmp_path / f"worker{index}"), "--quiet"],
            env=kws_env(tmp_path / f"cache{index}", TF_CONFIG=tf_config),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=600)
            results.append((proc.returncode, out, err))
    finally:
        for proc in procs:
            proc.kill()
    for index, (code, out, err) in enumerate(results):
        assert code == 0, f"worker {index}: {out}\n{err}"
    chief = tmp_path / "worker0"
    assert {"model.keras", "train.json", "representative.npy", "test.npz"} <= {
        p.name for p in chief.iterdir()}
    run = json.loads((chief / "train.json").read_text())
    assert run["config"]["strategy"] == "multiworker"
    assert run["labels"] == ["_silence_", "_unknown_", "yes", "no"]
    assert len(run["history"]) == 1
    # Both workers trained one synchronized model: the same loss on their shared batches.
    other = json.loads((tmp_path / "worker1" / "train.json").read_text())
    assert other["history"][0]["loss"] == run["history"][0]["loss"]


def test_demo_tiny_setting(tmp_path: Path) -> None:
    """The whole demo (train, export, native check, firmware under QEMU) with one epoch of the
    smallest DS-CNN: it completes, prints its summary and leaves its files."""
    require_tool("arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm", "make")
    out = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "kws.cli", "demo", "--epochs", "1", "--model", "ds-cnn-xs",
         "--out", str(out)],
        env=kws_env(tmp_path / "cache"), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = {}
    for line in proc.stdout.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) == 2:
            summary[cells[0]] = cells[1]
    assert "kws demo: yes, no on speech_commands_sample" in proc.stdout
    assert summary["model"].startswith("ds-cnn-xs (")
    counts = json.loads((out / "train.json").read_text())["counts"]
    expected_counts = f"{counts['train']} / {counts['validation']} / {counts['test']}"
    # The bundled sample with the auto unknown/silence amounts: 4 classes of real clips.
    assert summary["train / val / test examples"] == expected_counts
    assert counts["train"] > 300 and counts["validation"] > 40 and counts["test"] > 40
    assert summary["native C == tflite-micro"] == "yes"
    # clip, clip, both joined, and the planted-word stream: scores and detections equal
    assert summary["board == host (scores, detections)"].startswith("4/4 streams")
    assert re.fullmatch(r"\d/6, \d+ false", summary["planted words detected (host app)"])
    assert summary["test accuracy, int8 (tflite-micro)"].endswith("%")
    assert {"model.keras", "train.json", "model_int8.tflite", "model.json", "firmware"} <= {
        p.name for p in out.iterdir()}
    assert (out / "firmware" / "project.json").is_file()
    info = json.loads((out / "model.json").read_text())
    assert info["labels"] == ["_silence_", "_unknown_", "yes", "no"]
    assert f"{int(summary['int8 model file'].split()[0].replace(',', '')):d}" == str(
        (out / "model_int8.tflite").stat().st_size)
    # Quiet start-up, and stderr (a pipe) is not wrapped at 80 columns.
    err = proc.stderr.splitlines()
    assert_no_tf_noise(proc.stderr)
    assert "== 1. train ==" in err and "== 5. firmware on the emulated Cortex-M4 (QEMU " \
        "mps2-an386) ==" in err
    assert "== 4. planted words through the firmware app built for the host ==" in err
    assert any(line.startswith(f"labels ['_silence_', '_unknown_', 'yes', 'no']; train "
                               f"{counts['train']} (")
               and line.endswith(f"validation {counts['validation']}, test {counts['test']} "
                                 "examples") for line in err), proc.stderr
