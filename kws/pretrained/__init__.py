"""Models shipped inside the package, usable by name wherever a command takes ``--model``.

Each shipped model is a folder ``kws/pretrained/<name>/`` holding ``model_int8.tflite`` and
the ``model.json`` that ``kws export`` wrote for it, plus an ``about`` line: the data, split,
frontend, size, test accuracy and the exact command of the run it came from.
``models/build.py`` (in the repository) rebuilds every folder from its benchmark run; a new
shipped model is a new folder, nothing here lists them by hand.

    >>> from kws.pretrained import resolve_model
    >>> resolve_model("yes_no")            # doctest: +SKIP
    PosixPath('.../kws/pretrained/yes_no/model_int8.tflite')
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kws.errors import KwsError

PRETRAINED_DIR = Path(__file__).resolve().parent
MODEL_FILE = "model_int8.tflite"  # kws.export.MODEL_FILE, without importing TensorFlow
META_FILE = "model.json"


@dataclass(frozen=True)
class ShippedModel:
    """One shipped model: its name, the int8 ``.tflite`` (``model.json`` beside it), its
    labels in output order, its frontend kind (``"mfcc"``, ``"micro"``) and how it was made."""

    name: str
    path: Path
    labels: tuple[str, ...]
    frontend: str
    about: str

    def to_json(self) -> dict[str, Any]:
        """The ``kws models --json`` entry: ``name``, ``path``, ``labels``, ``frontend``,
        ``about``."""
        return {"name": self.name, "path": str(self.path), "labels": list(self.labels),
                "frontend": self.frontend, "about": self.about}


def _read(folder: Path) -> ShippedModel:
    meta_path = folder / META_FILE
    try:
        meta = json.loads(meta_path.read_text())
        labels = tuple(str(label) for label in meta["labels"])
        frontend = str(meta["frontend"]["type"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # Only a damaged installation gets here: the files ship with the package.
        raise KwsError(f"{meta_path}: unreadable shipped model description ({exc})") from None
    return ShippedModel(folder.name, folder / MODEL_FILE, labels, frontend,
                        str(meta.get("about", "")))


def list_models(root: Path = PRETRAINED_DIR) -> list[ShippedModel]:
    """The shipped models under ``root`` (every folder holding ``model_int8.tflite`` and
    ``model.json``), sorted by name."""
    folders = sorted(p for p in root.iterdir()
                     if (p / MODEL_FILE).is_file() and (p / META_FILE).is_file())
    return [_read(folder) for folder in folders]


def model_names(root: Path = PRETRAINED_DIR) -> list[str]:
    """Names of the shipped models, sorted."""
    return sorted(p.name for p in root.iterdir()
                  if (p / MODEL_FILE).is_file() and (p / META_FILE).is_file())


def shipped_name(path: str | os.PathLike[str], root: Path = PRETRAINED_DIR) -> str | None:
    """The name of the shipped model whose file ``path`` is, or None."""
    p = Path(path).resolve()
    if p.parent.parent == root.resolve() and p.name == MODEL_FILE:
        return p.parent.name if p.parent.name in model_names(root) else None
    return None


def resolve_model(name_or_path: str | os.PathLike[str], root: Path = PRETRAINED_DIR) -> Path:
    """The model file that ``name_or_path`` names.

    In order: an existing file; a run folder holding ``model_int8.tflite`` (``kws export``,
    ``kws wakeword --out``); a shipped model's name; any other existing path (the model
    checks then say what is wrong with it).

    Raises
    ------
    KwsError
        One line when it is none of these: "X: model file not found and no shipped model
        named 'X' (shipped: a, b)"; for X with a folder or a suffix, "X: model file not
        found".
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    if (path / MODEL_FILE).is_file():
        return path / MODEL_FILE
    text = os.fspath(name_or_path)
    names = model_names(root)
    if text in names:
        return root / text / MODEL_FILE
    if path.exists():
        return path
    if len(path.parts) > 1 or path.suffix:
        raise KwsError(f"{text}: model file not found")  # a path, not a name
    raise KwsError(f"{text}: model file not found and no shipped model named {text!r} "
                   f"(shipped: {', '.join(names) or 'none'})")
