"""Which model files the app can use, and how a session names the one it used.

A session's numbers are only comparable with another's when the same model produced
them, so every session stores the model's file name and SHA-256 (:class:`ModelRef`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

MODEL_SUFFIX = ".tflite"  # what the app runs (LiteRT); .keras files are for training


@dataclass(frozen=True)
class ModelRef:
    """A model file and the SHA-256 (hex) of its bytes."""

    path: Path
    sha256: str

    @property
    def name(self) -> str:
        return self.path.name

    @classmethod
    def of(cls, path: str | Path) -> ModelRef:
        """Hash the file (a few MB: milliseconds). Raises OSError if it is unreadable."""
        digest = hashlib.sha256()
        with Path(path).open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return cls(Path(path), digest.hexdigest())


def model_columns(model: ModelRef | None) -> dict[str, str]:
    """The session columns naming ``model`` (none for an unknown model)."""
    return {} if model is None else {"model_file": model.name, "model_hash": model.sha256}


def find_model_files(*folders: str | Path | None) -> list[Path]:
    """The ``*.tflite`` files in each existing folder, in folder order then by name,
    without duplicates (a folder given twice, or a symlink to a listed file)."""
    found: list[Path] = []
    seen: set[Path] = set()
    for folder in folders:
        if folder is None or not Path(folder).is_dir():
            continue
        for path in sorted(Path(folder).glob(f"*{MODEL_SUFFIX}")):
            real = path.resolve()
            if path.is_file() and real not in seen:
                seen.add(real)
                found.append(path)
    return found
