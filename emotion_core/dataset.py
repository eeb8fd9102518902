"""Loading labelled face images: FER2013 as Kaggle folders or as ``fer2013.csv``,
and folders of new labelled images for fine-tuning.

Every image goes through :func:`emotion_core.preprocessing.face_to_grey48`, so colour
or odd sizes are converted exactly like live crops. Unreadable files are skipped and
counted; user mistakes raise :class:`DatasetError` with a message, never a traceback.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emotion_core.emotions import FER2013_CSV_ORDER, LABELS, NUM_CLASSES, Emotion
from emotion_core.preprocessing import face_to_grey48

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".pgm"}
# Where FER2013 is shared between the projects on this machine (Kaggle folder layout).
DEFAULT_FER2013 = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "fer2013"
# The CSV's Usage column names for the folder layout's split names.
CSV_USAGE = {"train": "Training", "test": "PublicTest", "private": "PrivateTest"}


class DatasetError(ValueError):
    """A data set path or file that cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class FaceDataset:
    """48x48 uint8 grey faces with integer labels in :class:`Emotion` order."""

    images: np.ndarray  # (N, 48, 48) uint8
    labels: np.ndarray  # (N,) int64
    skipped: int = 0

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=NUM_CLASSES)

    def subset(self, size: int, seed: int) -> FaceDataset:
        """A random sample of at most ``size`` images (quick experiments and tests)."""
        idx = np.sort(np.random.default_rng(seed).permutation(len(self))[:size])
        return FaceDataset(self.images[idx], self.labels[idx])

    def split(self, val_fraction: float, seed: int) -> tuple[FaceDataset, FaceDataset]:
        """Stratified random split into (train, validation)."""
        rng = np.random.default_rng(seed)
        val_idx: list[np.ndarray] = []
        for c in range(NUM_CLASSES):
            idx = np.flatnonzero(self.labels == c)
            rng.shuffle(idx)
            n_val = int(round(len(idx) * val_fraction))
            if len(idx) > 1:
                n_val = min(max(n_val, 1), len(idx) - 1)
            val_idx.append(idx[:n_val])
        val = np.sort(np.concatenate(val_idx)) if val_idx else np.array([], int)
        mask = np.ones(len(self), bool)
        mask[val] = False
        return (
            FaceDataset(self.images[mask], self.labels[mask]),
            FaceDataset(self.images[val], self.labels[val]),
        )


def read_image_grey48(path: Path) -> np.ndarray | None:
    """One image file as a 48x48 grey face, or None if it cannot be decoded."""
    data = np.fromfile(str(path), dtype=np.uint8)
    if data.size == 0:
        return None
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        return None
    try:
        return face_to_grey48(img)
    except ValueError:
        return None


def load_folder(root: str | Path) -> FaceDataset:
    """Images under ``root/<emotion>/``; folder names are matched case-insensitively.

    Raises DatasetError for a missing folder, an unknown class folder, or no usable
    image. Non-image or corrupt files are skipped and counted (logged as a warning).
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"data folder not found: {root}")
    class_dirs = [d for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith(".")]
    if not class_dirs:
        raise DatasetError(
            f"{root} has no emotion folders; expected sub-folders named {', '.join(LABELS)}"
        )
    images: list[np.ndarray] = []
    labels: list[int] = []
    skipped = 0
    for class_dir in class_dirs:
        try:
            label = list(Emotion).index(Emotion.parse(class_dir.name))
        except ValueError as exc:
            raise DatasetError(f"{class_dir}: {exc}") from None
        for path in sorted(class_dir.iterdir()):
            if not path.is_file() or path.name.startswith("."):
                continue
            face = read_image_grey48(path) if path.suffix.lower() in IMAGE_SUFFIXES else None
            if face is None:
                skipped += 1
                log.debug("skipped unreadable file %s", path)
                continue
            images.append(face)
            labels.append(label)
    if skipped:
        log.warning("%s: skipped %d unreadable or non-image file(s)", root, skipped)
    if not images:
        raise DatasetError(f"{root} contains no usable image")
    return FaceDataset(np.stack(images), np.asarray(labels, np.int64), skipped)


def load_csv(path: str | Path, usage: str | None = None) -> FaceDataset:
    """Rows of the original ``fer2013.csv`` (``emotion,pixels,Usage``).

    ``usage`` selects one split by its CSV name (Training, PublicTest, PrivateTest) or
    folder name (train, test); None takes every row. Malformed rows are skipped and
    counted. Labels are remapped from the CSV's class order to :class:`Emotion` order.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"CSV file not found: {path}")
    wanted = CSV_USAGE.get(usage, usage) if usage else None
    to_ours = [list(Emotion).index(e) for e in FER2013_CSV_ORDER]
    images: list[np.ndarray] = []
    labels: list[int] = []
    skipped = 0
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"emotion", "pixels"} <= set(reader.fieldnames):
            raise DatasetError(f"{path} is not a FER2013 CSV: it needs 'emotion' and 'pixels'")
        for row in reader:
            if wanted and row.get("Usage") != wanted:
                continue
            try:
                pixels = np.array(row["pixels"].split(), dtype=np.uint8)
                label = to_ours[int(row["emotion"])]
                side = int(round(np.sqrt(pixels.size)))
                if side * side != pixels.size or side == 0:
                    raise ValueError("pixels do not form a square image")
            except (ValueError, IndexError, AttributeError):
                skipped += 1
                continue
            images.append(face_to_grey48(pixels.reshape(side, side)))
            labels.append(label)
    if skipped:
        log.warning("%s: skipped %d malformed row(s)", path, skipped)
    if not images:
        raise DatasetError(
            f"{path} has no usable rows" + (f" with Usage={wanted}" if wanted else "")
        )
    return FaceDataset(np.stack(images), np.asarray(labels, np.int64), skipped)


def load_split(path: str | Path, split: str) -> FaceDataset:
    """One split (``train`` or ``test``) of FER2013 given as a folder root or a CSV file."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return load_csv(path, split)
    return load_folder(path / split)


def load_training_data(
    path: str | Path, val_fraction: float = 0.1, seed: int = 0
) -> tuple[FaceDataset, FaceDataset]:
    """(train, validation) from FER2013 (folder with train/ and test/, or CSV), or from
    a plain folder of ``<emotion>/`` images split stratified by ``val_fraction``."""
    path = Path(path)
    if path.suffix.lower() == ".csv" or (path / "train").is_dir():
        return load_split(path, "train"), load_split(path, "test")
    return load_folder(path).split(val_fraction, seed)
