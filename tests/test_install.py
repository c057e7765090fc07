"""A regular (non-editable) install works: the wheel carries the firmware sources inside the
package (``kws/_firmware``), and the CLI run from the unpacked wheel, with no source checkout
importable, lists the shipped models and deploys (and builds) a firmware project from them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from kws import paths
from kws.errors import KwsError
from kws.firmware_project.toolchain import have_arm_tools

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
BOARD = "qemu-mps2-an386"
# Runs kws.cli.main with argv from the command line, after checking which kws it imported.
_RUN_CLI = ("import sys, kws, kws.cli, kws.paths; "
            "print('KWS', kws.__file__, kws.paths.firmware_dir(), file=sys.stderr); "
            "sys.exit(kws.cli.main(sys.argv[1:]))")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of this checkout, built without build isolation (offline)."""
    out = tmp_path_factory.mktemp("wheel")
    # What a wheel is built from, copied: setuptools stages the build inside its source tree.
    src = out / "src"
    skip = shutil.ignore_patterns("__pycache__", "*.so", "*.o", "*.elf", "_core.c")
    for part in ("kws", "firmware"):
        shutil.copytree(REPO / part, src / part, ignore=skip)
    for name in ("setup.py", "pyproject.toml", "MANIFEST.in", "README.md"):
        shutil.copy2(REPO / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", str(src), "-w", str(out)], check=True,
                   capture_output=True, cwd=out)
    (found,) = out.glob("kws-*.whl")
    return found


@pytest.fixture(scope="module")
def site(wheel: Path) -> Path:
    """The wheel unpacked: what ``pip install`` puts into site-packages."""
    target = wheel.parent / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(target)
    return target


def run_installed(site: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """``kws ARGV`` from the unpacked wheel in ``site``, run in ``cwd`` (outside the repo),
    with a cache of its own (the host app is built afresh from the installed sources)."""
    env = {**os.environ, "PYTHONPATH": str(site), "KWS_CACHE_DIR": str(cwd / "cache")}
    proc = subprocess.run([sys.executable, "-c", _RUN_CLI, *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    marker = next(line for line in proc.stderr.splitlines() if line.startswith("KWS "))
    _, kws_file, firmware = marker.split(" ")
    # The installed copy ran, with its own firmware sources, not the checkout's.
    assert Path(kws_file).is_relative_to(site), marker
    assert Path(firmware) == site / "kws" / "_firmware", marker
    return proc


@pytest.mark.slow
def test_wheel_carries_firmware_sources(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("kws/_firmware/core/config_structs.json",
                 f"kws/_firmware/boards/{BOARD}/board.json",
                 "kws/_firmware/app/main.c",
                 "kws/pretrained/yes_no/model_int8.tflite",
                 "kws/wakeword/common_words.txt"):
        assert name in names, name
    tracked = subprocess.run(["git", "ls-files", "firmware"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split()
    assert {f"kws/_{path}" for path in tracked} <= names
    assert not [n for n in names if n.endswith((".o", ".elf"))]
    assert any(n.startswith("kws/_core") and n.endswith(".so") for n in names)


@pytest.mark.slow
def test_installed_cli_lists_and_deploys(site: Path, tmp_path: Path) -> None:
    listed = run_installed(site, tmp_path, "models", "--json")
    assert listed.returncode == 0, listed.stderr
    models = {m["name"]: m for m in json.loads(listed.stdout)}
    assert Path(models["yes_no"]["path"]).is_relative_to(site)

    project = tmp_path / "proj"
    deployed = run_installed(site, tmp_path, "deploy", "yes_no", "--board", BOARD,
                             "--out", str(project), "--json")
    assert deployed.returncode == 0, deployed.stderr
    assert json.loads(deployed.stdout)["board"] == BOARD
    firmware = site / "kws" / "_firmware"
    for copied in (project / "app").glob("*.[ch]"):
        assert copied.read_bytes() == (firmware / "app" / copied.name).read_bytes()
    assert (project / "core" / "kernels").is_dir()

    if have_arm_tools():
        built = run_installed(site, tmp_path, "firmware", "build", str(project))
        assert built.returncode == 0, built.stderr
        assert (project / "build" / "firmware.elf").is_file()


@pytest.mark.slow
def test_installed_cli_runs_the_host_app(site: Path, tmp_path: Path) -> None:
    """``kws simulate`` runs the firmware application built for the host, as ``kws listen``
    does on the microphone: compiled here from the installed copy of the C sources."""
    audio, rate = sf.read(FIXTURES / "yes_1000ms.wav", dtype="int16")
    silence = np.zeros(rate // 2, np.int16)
    wav = tmp_path / "yes_stream.wav"
    sf.write(wav, np.concatenate([silence, audio, silence, silence]), rate, subtype="PCM_16")
    proc = run_installed(site, tmp_path, "simulate", "--model", "yes_no", str(wav), "--json")
    assert proc.returncode == 0, proc.stderr
    assert [d["label"] for d in json.loads(proc.stdout)["detections"]] == ["yes"]
    assert any((tmp_path / "cache" / "host_app").iterdir())


@pytest.mark.slow
def test_installed_demo_asks_for_data(site: Path, tmp_path: Path) -> None:
    """The bundled sample lives in the checkout's datasets/: one clear line, no traceback."""
    proc = run_installed(site, tmp_path, "demo", "--out", str(tmp_path / "run"))
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if not line.startswith("KWS ")]
    assert len(errors) == 1 and errors[0].startswith("kws: error:"), proc.stderr
    assert "pass --data" in errors[0]
    assert not (tmp_path / "run").exists()


def test_missing_firmware_is_one_clear_error(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    package = tmp_path / "kws"
    package.mkdir()
    monkeypatch.setattr(paths, "PACKAGE_DIR", package)
    paths.firmware_dir.cache_clear()
    try:
        with pytest.raises(KwsError, match="firmware C sources are missing"):
            paths.firmware_dir()
        (package / "_firmware" / "core").mkdir(parents=True)
        (package / "_firmware" / "core" / "config_structs.json").write_text("{}")
        assert paths.firmware_dir() == package / "_firmware"
    finally:
        paths.firmware_dir.cache_clear()


def test_checkout_uses_its_own_firmware() -> None:
    assert paths.firmware_dir() == REPO / "firmware"
