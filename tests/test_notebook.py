"""``notebooks/wakeword.ipynb`` executes top to bottom (nbclient, a real Jupyter kernel) on
tiny settings, so the walkthrough cannot rot: voices, a wake-word run, simulate, deploy and
the firmware build (and its run under QEMU when installed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import require_tool

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "wakeword.ipynb"


def _text(cell: dict) -> str:
    return "".join(out.get("text", "") for out in cell.get("outputs", [])
                   if out.get("output_type") == "stream")


@pytest.mark.slow
def test_wakeword_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    require_tool("espeak-ng", "arm-none-eabi-gcc")
    monkeypatch.setenv("KWS_NOTEBOOK_TINY", "1")
    monkeypatch.setenv("KWS_NOTEBOOK_OUT", str(tmp_path))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    outputs = "\n".join(_text(c) for c in nb.cells if c.cell_type == "code")
    assert "tiny settings: True" in outputs
    assert "calibrate:" in outputs and "detections in 4.0 s of audio" in outputs
    assert (tmp_path / "run" / "model_int8.tflite").is_file()
    assert (tmp_path / "firmware" / "project.json").is_file()
    images = [o for c in nb.cells for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert len(images) == 1  # the DET curve
