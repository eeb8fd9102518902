"""The shipped model on a real face: the smiling astronaut must read as happy."""

from __future__ import annotations

import numpy as np

from emotion_core.detection import FaceDetector
from emotion_core.emotions import LABELS
from emotion_core.preprocessing import crop_face, preprocess_faces


def astronaut_face(astronaut_bgr: np.ndarray) -> np.ndarray:
    """The one face in the picture, cut out the way the live pipeline cuts it."""
    with FaceDetector() as detector:
        boxes = detector.detect(astronaut_bgr)
    assert len(boxes) == 1, f"expected one face, found {len(boxes)}"
    return crop_face(astronaut_bgr, boxes[0].as_tuple())


def test_shipped_model_reads_the_smiling_astronaut_as_happy(classifier, astronaut_bgr):
    probs = classifier.predict(preprocess_faces([astronaut_face(astronaut_bgr)]))[0]
    ranked = ", ".join(f"{LABELS[i]} {probs[i]:.2f}" for i in np.argsort(probs)[::-1])
    assert LABELS[int(np.argmax(probs))] == "happy", f"predicted: {ranked}"


def test_tta_also_reads_the_astronaut_as_happy(classifier, astronaut_bgr):
    probs = classifier.predict_tta(preprocess_faces([astronaut_face(astronaut_bgr)]))[0]
    assert LABELS[int(np.argmax(probs))] == "happy"
    assert np.isclose(probs.sum(), 1.0, atol=1e-4)
