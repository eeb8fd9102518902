"""Fine-tuned model versions: one folder per fine-tune under the models folder.

A version folder (``ft-YYYYmmdd-HHMMSS/``) holds what ``python -m emotion_core.train``
exports (``emotion_cnn.keras``, float and int8 ``.tflite``, ``training_log.csv``) and
a ``model_card.json`` whose ``fine_tune`` section names its parent, its data and its
before/after accuracy. A fine-tune writes into a hidden ``.partial-<job>/`` folder and
renames it into place only once the card is complete, so a crashed or cancelled job
never leaves a half-written version in the list. The shipped model in ``assets/`` is
never written to: versions live only under the models folder.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emotion_core.model_card import MODEL_CARD_NAME, load_card

log = logging.getLogger(__name__)

DEFAULT_MODELS_DIR = Path("data") / "models"  # relative to the project root
VERSION_PREFIX = "ft-"
PARTIAL_PREFIX = ".partial-"
# The runnable files of a version, in the order the sidebar offers them (int8 first,
# like the shipped default).
VERSION_FILES = ("emotion_cnn_int8.tflite", "emotion_cnn.tflite")
PUBLICTEST_WARN_POINTS = 2.0  # the Model page warns when PublicTest drops by more


@dataclass(frozen=True)
class ModelVersion:
    """A complete fine-tuned version: its name, folder and card."""

    name: str
    folder: Path
    card: dict[str, Any]

    @property
    def files(self) -> list[Path]:
        return [self.folder / f for f in VERSION_FILES if (self.folder / f).is_file()]


def new_version_name(now: float | None = None) -> str:
    """``ft-`` and the local time to the second: sorts by age and says when."""
    return VERSION_PREFIX + time.strftime("%Y%m%d-%H%M%S", time.localtime(now))


def is_version_folder(folder: Path) -> bool:
    """A published version: named ``ft-…``, with a card holding a ``fine_tune`` section
    and at least one runnable file."""
    if not folder.is_dir() or not folder.name.startswith(VERSION_PREFIX):
        return False
    try:
        card = load_card(folder / MODEL_CARD_NAME)
    except (OSError, json.JSONDecodeError):
        return False
    return "fine_tune" in card and any((folder / f).is_file() for f in VERSION_FILES)


def list_versions(models_dir: str | Path | None) -> list[ModelVersion]:
    """The complete versions in ``models_dir``, newest first (none if it does not exist)."""
    if models_dir is None or not Path(models_dir).is_dir():
        return []
    folders = [f for f in Path(models_dir).iterdir() if is_version_folder(f)]
    return [
        ModelVersion(f.name, f, load_card(f / MODEL_CARD_NAME))
        for f in sorted(folders, key=lambda f: f.name, reverse=True)
    ]


def version_model_files(models_dir: str | Path | None) -> list[Path]:
    """Every runnable file of every version, newest version first."""
    return [path for version in list_versions(models_dir) for path in version.files]


def model_label(path: str | Path) -> str:
    """How the sidebar names a model file: ``ft-… (int8)`` for a version's file (all
    versions share file names), the file name otherwise."""
    path = Path(path)
    if path.parent.name.startswith(VERSION_PREFIX):
        kind = "int8" if "int8" in path.name else "float"
        return f"{path.parent.name} ({kind})"
    return path.name


def model_labels(paths: list[Path]) -> dict[str, str]:
    """Unique sidebar names for ``paths`` (keyed by ``str(path)``): :func:`model_label`,
    or ``folder/file`` where two files share a name (a selectbox tells its options
    apart by their labels)."""
    labels = [model_label(p) for p in paths]
    return {
        str(p): f"{Path(p).parent.name}/{Path(p).name}" if labels.count(label) > 1 else label
        for p, label in zip(paths, labels)
    }


def partial_folder(models_dir: str | Path, job_id: str) -> Path:
    """Where a job writes its version until it is complete (hidden from the list)."""
    return Path(models_dir) / f"{PARTIAL_PREFIX}{job_id}"


def publish(partial: Path, name: str) -> Path:
    """Rename a complete ``partial`` folder to version ``name`` beside it (atomic on one
    file system); raises FileExistsError if that version exists."""
    final = partial.parent / name
    if final.exists():
        raise FileExistsError(f"model version {final} already exists")
    partial.rename(final)
    return final


def sweep_partial(models_dir: str | Path) -> list[Path]:
    """Delete the partial folders that crashed or killed jobs left. Call it only when
    no fine-tune is running (the job lock is free). Returns what was removed."""
    folder = Path(models_dir)
    if not folder.is_dir():
        return []
    stale = [p for p in folder.iterdir() if p.name.startswith(PARTIAL_PREFIX) and p.is_dir()]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
        log.info("removed the unfinished model folder %s", path)
    return stale


def delete_version(models_dir: str | Path, name: str) -> None:
    """Delete one version folder; refuses anything that is not a version in ``models_dir``."""
    folder = Path(models_dir) / name
    if Path(name).name != name or not is_version_folder(folder):
        raise ValueError(f"{name} is not a model version in {models_dir}")
    shutil.rmtree(folder)


def publictest_change(section: dict[str, Any]) -> float | None:
    """The change of PublicTest accuracy, in percentage points, after minus before; None
    when the fine-tune could not measure it (FER2013 absent)."""
    test = section.get("publictest") or {}
    if test.get("before") is None or test.get("after") is None:
        return None
    return 100.0 * (test["after"] - test["before"])


def publictest_dropped(section: dict[str, Any], points: float = PUBLICTEST_WARN_POINTS) -> bool:
    """True when PublicTest accuracy fell by more than ``points``: the fine-tune made
    the model forget part of FER2013."""
    change = publictest_change(section)
    return change is not None and change < -points
