"""Knowledge distillation: train on a blend of each face's label and what trained
models (the teachers) say about it.

FER2013's labels are noisy and many faces are honestly ambiguous (fear vs surprise, sad
vs neutral); a teacher's probabilities say *how* ambiguous each face is, which a one-hot
label cannot. The teachers' mirror-averaged probabilities for every training face are
computed once per run and cached beside the checkpoints, so the per-batch cost is nil.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emotion_core.model_files import ModelRef

TEACHER_CACHE = "teacher_probs.npy"


class DistillationError(ValueError):
    """A teacher is missing or is not the file the run started with."""


def teacher_refs(paths: list[str]) -> list[dict[str, str]]:
    """Path and SHA-256 of each teacher, as the run's state records them."""
    refs = []
    for path in paths:
        if not Path(path).is_file():
            raise DistillationError(f"teacher model not found: {path}")
        refs.append({"path": str(path), "sha256": ModelRef.of(path).sha256})
    return refs


def teacher_probabilities(refs: list[dict[str, str]], faces: np.ndarray) -> np.ndarray:
    """The teachers' mean probabilities, each averaged over the face and its mirror.

    ``faces`` is the float32 (N, 48, 48, 1) training input. Each teacher must still be
    the file recorded in ``refs`` (a resumed run must learn from the same teachers).
    """
    from emotion_core.classifier import EmotionClassifier
    from emotion_core.evaluate import predict_split

    for ref in refs:
        if not Path(ref["path"]).is_file() or ModelRef.of(ref["path"]).sha256 != ref["sha256"]:
            raise DistillationError(f"teacher {ref['path']} is missing or has changed")
    teachers = (EmotionClassifier(ref["path"]) for ref in refs)
    total = sum(predict_split(clf, faces, tta=True, batch=256) for clf in teachers)
    return (total / len(refs)).astype(np.float32)


def cached_teacher_probabilities(
    folder: Path, refs: list[dict[str, str]], faces: np.ndarray
) -> np.ndarray:
    """:func:`teacher_probabilities`, read from ``folder`` when an earlier start of the
    same run already computed them (the cache is a function of the teachers' hashes)."""
    cache = folder / TEACHER_CACHE
    if cache.is_file():
        probs = np.load(cache)
        if len(probs) == len(faces):
            return probs
    probs = teacher_probabilities(refs, faces)
    np.save(cache, probs)
    return probs


def agreement(probs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """How far soft targets are from the labels: the share of faces whose most probable
    class is the label, and the mean probability on the label."""
    on_label = probs[np.arange(len(labels)), labels]
    return float(np.mean(probs.argmax(axis=1) == labels)), float(on_label.mean())


def blend_targets(onehot, teacher, weight: float):
    """Training targets: ``(1 - weight)`` of the label plus ``weight`` of the teachers."""
    return (1.0 - weight) * onehot + weight * teacher
