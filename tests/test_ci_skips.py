"""Under CI a skip fails (tests/conftest.py): CI cannot pass by skipping what it must run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")

SAMPLE_TESTS = '''
import pytest

from kws_conftest import require_tool


def test_missing_tool():
    require_tool("sh", "kws-no-such-tool")


def test_present_tool():
    require_tool("sh")


@pytest.mark.skipif(True, reason="arm-none-eabi-gcc not installed")
def test_marked_skip():
    pass


@pytest.mark.hardware
def test_needs_a_board():
    pytest.skip("no board attached")


@pytest.mark.xfail(reason="known", strict=True)
def test_expected_failure():
    assert False
'''


def _pytest(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess:
    """Run SAMPLE_TESTS with the project's conftest hooks, ``CI`` set to ``ci``."""
    (tmp_path / "kws_conftest.py").write_text(CONFTEST.read_text())
    (tmp_path / "conftest.py").write_text(
        "from kws_conftest import pytest_configure, pytest_runtest_makereport  # noqa: F401\n")
    (tmp_path / "test_sample.py").write_text(SAMPLE_TESTS)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rfEs", "-p", "no:cacheprovider",
                           str(tmp_path)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)


def test_skips_are_skips_outside_ci(tmp_path: Path) -> None:
    proc = _pytest(tmp_path, None)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed, 3 skipped, 1 xfailed" in proc.stdout, proc.stdout
    assert "needs kws-no-such-tool (not installed)" in proc.stdout


@pytest.mark.parametrize("ci", ["true", "1"])
def test_skips_fail_under_ci(tmp_path: Path, ci: str) -> None:
    proc = _pytest(tmp_path, ci)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    # A skipif mark skips during setup, so that one reports as an error.
    assert "1 failed, 1 passed, 1 skipped, 1 xfailed, 1 error" in proc.stdout, proc.stdout
    assert "FAILED test_sample.py::test_missing_tool" in proc.stdout
    assert "ERROR at setup of test_marked_skip" in proc.stdout
    assert "skipped under CI" in proc.stdout and "kws-no-such-tool" in proc.stdout
    assert "arm-none-eabi-gcc not installed" in proc.stdout
