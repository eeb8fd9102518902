"""The user's own labelled faces for fine-tuning: a folder of ``<emotion>/`` PNG files.

Only a face the user explicitly chose is saved, and only as the model sees it: the
48x48 grey crop that the pipeline fed the classifier (:attr:`FaceResult.face48`, made
by the one preprocessing path), never the frame. Nothing here touches the session store.
The folder is the one ``python -m emotion_core.train --data`` reads, so it can also be
filled, inspected or emptied by hand. Any thread may call these functions; file names
are unique per save, so two sessions saving at once cannot collide.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emotion_core.dataset import IMAGE_SUFFIXES, read_image_grey48
from emotion_core.emotions import LABELS, Emotion
from emotion_core.preprocessing import FACE_SIZE

log = logging.getLogger(__name__)

DEFAULT_TRAINING_DIR = Path("data") / "training_faces"  # relative to the project root
MIN_FACES_PER_EMOTION = 10  # fewer cannot be both trained on and held out for validation
FACE_SUFFIX = ".png"  # lossless: the saved bytes are exactly the classifier's input


class TrainingDataError(ValueError):
    """The training folder cannot be used as it is; the message says why and what to do."""


@dataclass(frozen=True)
class SavedFace:
    """One saved training face: its file and its label."""

    path: Path
    emotion: Emotion

    def load(self) -> np.ndarray:
        """The 48x48 uint8 grey face (raises TrainingDataError if the file is unreadable)."""
        face = read_image_grey48(self.path)
        if face is None:
            raise TrainingDataError(f"{self.path} cannot be read as an image")
        return face


@dataclass(frozen=True)
class FolderProblem:
    """A file or folder inside the training folder that training cannot use."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def save_face(root: str | Path, face48: np.ndarray, emotion: str | Emotion) -> Path:
    """Write one 48x48 uint8 grey face to ``root/<emotion>/`` as a new PNG; returns its path.

    Written to a temporary name and renamed, so a reader never sees half a file.
    Raises ValueError for anything but a (48, 48) uint8 array or an unknown emotion.
    """
    label = Emotion.parse(emotion) if isinstance(emotion, str) else emotion
    face = np.asarray(face48)
    if face.shape != (FACE_SIZE, FACE_SIZE) or face.dtype != np.uint8:
        raise ValueError(f"expected a 48x48 uint8 grey face, got {face.shape} {face.dtype}")
    folder = Path(root) / label.value
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}{FACE_SUFFIX}"
    ok, png = cv2.imencode(FACE_SUFFIX, face)
    if not ok:
        raise ValueError("the face could not be encoded as PNG")
    tmp = folder / f".{name}.tmp"
    tmp.write_bytes(png.tobytes())
    tmp.replace(folder / name)
    log.info("saved a %s training face as %s", label.value, folder / name)
    return folder / name


def list_faces(root: str | Path, emotion: str | Emotion | None = None) -> list[SavedFace]:
    """Saved faces (image files in the emotion folders), newest first within each emotion,
    emotions in model order. Unknown folders and non-image files are not listed (see
    :func:`check_folder`)."""
    wanted = [Emotion.parse(emotion)] if isinstance(emotion, str) else [emotion]
    emotions = list(Emotion) if emotion is None else wanted
    faces: list[SavedFace] = []
    for label in emotions:
        folder = Path(root) / label.value
        if not folder.is_dir():
            continue
        files = [p for p in folder.iterdir() if _is_face_file(p)]
        faces += [SavedFace(p, label) for p in sorted(files, key=lambda p: p.name, reverse=True)]
    return faces


def count_faces(root: str | Path) -> dict[str, int]:
    """Saved faces per emotion, every emotion listed (0 when none)."""
    counts = dict.fromkeys(LABELS, 0)
    for face in list_faces(root):
        counts[face.emotion.value] += 1
    return counts


def delete_face(root: str | Path, path: str | Path) -> None:
    """Delete one saved face. Refuses (ValueError) any path outside ``root``'s emotion
    folders, so a stale or crafted path cannot delete another file."""
    root, path = Path(root).resolve(), Path(path).resolve()
    if path.parent.parent != root or path.parent.name not in LABELS:
        raise ValueError(f"{path} is not a face in the training folder {root}")
    path.unlink(missing_ok=True)


def delete_all(root: str | Path) -> int:
    """Delete every emotion folder (and everything in it); returns the faces removed.
    Files the user put elsewhere in ``root`` are left alone."""
    removed = len(list_faces(root))
    for label in LABELS:
        folder = Path(root) / label
        if folder.is_dir():
            shutil.rmtree(folder)
    return removed


def check_folder(root: str | Path) -> list[FolderProblem]:
    """Every entry training would stumble on, file by file: folders that are not an
    emotion, and files that are not a readable image. An empty list means usable."""
    root = Path(root)
    problems: list[FolderProblem] = []
    if not root.is_dir():
        return problems
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if not entry.is_dir():
            problems.append(FolderProblem(entry, "a file outside the emotion folders"))
            continue
        if entry.name.lower() not in LABELS:
            problems.append(
                FolderProblem(entry, f"not an emotion folder (expected {', '.join(LABELS)})")
            )
            continue
        for path in sorted(entry.iterdir()):
            if path.name.startswith("."):
                continue
            if path.is_dir():
                problems.append(FolderProblem(path, "a folder inside an emotion folder"))
            elif path.suffix.lower() not in IMAGE_SUFFIXES:
                problems.append(FolderProblem(path, "not an image file"))
            elif read_image_grey48(path) is None:
                problems.append(FolderProblem(path, "corrupt or unreadable image"))
    return problems


def check_enough(counts: dict[str, int], minimum: int = MIN_FACES_PER_EMOTION) -> None:
    """Raise TrainingDataError unless every emotion that has faces has at least
    ``minimum`` (emotions with none are simply not taught), and some emotion has any."""
    used = {e: n for e, n in counts.items() if n > 0}
    if not used:
        raise TrainingDataError(
            "There are no saved faces yet: save at least "
            f"{minimum} faces of each emotion you want to teach."
        )
    short = [f"{e} has {n}" for e, n in used.items() if n < minimum]
    if short:
        raise TrainingDataError(
            f"Too few faces to fine-tune: {', '.join(short)}. Save at least {minimum} "
            "faces of every emotion you use (part of them are held out to measure the "
            "result), or delete that emotion's faces."
        )


def _is_face_file(path: Path) -> bool:
    return (
        path.is_file() and not path.name.startswith(".") and (path.suffix.lower() in IMAGE_SUFFIXES)
    )
