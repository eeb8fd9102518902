"""The shipped model on a real face: the smiling astronaut must read as happy, through
the float and the int8 model alike."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emotion_core.classifier import (
    DEFAULT_MODEL_PATH,
    FLOAT_MODEL_PATH,
    EmotionClassifier,
    ModelLoadError,
)
from emotion_core.detection import FaceDetector
from emotion_core.emotions import LABELS
from emotion_core.preprocessing import crop_face, preprocess_faces

ROOT = Path(__file__).resolve().parent.parent
INT8_TOLERANCE = 0.1  # probability points: quantization moves them a little, not the label


def astronaut_face(astronaut_bgr: np.ndarray) -> np.ndarray:
    """The one face in the picture, cut out the way the live pipeline cuts it."""
    with FaceDetector() as detector:
        boxes = detector.detect(astronaut_bgr)
    assert len(boxes) == 1, f"expected one face, found {len(boxes)}"
    return crop_face(astronaut_bgr, boxes[0].as_tuple(), boxes[0].eyes)


def test_shipped_model_reads_the_smiling_astronaut_as_happy(classifier, astronaut_bgr):
    probs = classifier.predict(preprocess_faces([astronaut_face(astronaut_bgr)]))[0]
    ranked = ", ".join(f"{LABELS[i]} {probs[i]:.2f}" for i in np.argsort(probs)[::-1])
    assert LABELS[int(np.argmax(probs))] == "happy", f"predicted: {ranked}"


def test_tta_also_reads_the_astronaut_as_happy(classifier, astronaut_bgr):
    probs = classifier.predict_tta(preprocess_faces([astronaut_face(astronaut_bgr)]))[0]
    assert LABELS[int(np.argmax(probs))] == "happy"
    assert np.isclose(probs.sum(), 1.0, atol=1e-4)


def test_int8_and_float_models_agree_on_the_astronaut(classifier, astronaut_bgr):
    assert DEFAULT_MODEL_PATH.name == "emotion_cnn_int8.tflite"  # the shipped one
    float_model = EmotionClassifier(FLOAT_MODEL_PATH)
    face = preprocess_faces([astronaut_face(astronaut_bgr)])
    int8_probs, float_probs = classifier.predict(face)[0], float_model.predict(face)[0]
    assert LABELS[int(np.argmax(int8_probs))] == LABELS[int(np.argmax(float_probs))] == "happy"
    assert np.abs(float_probs - int8_probs).max() < INT8_TOLERANCE


def test_the_app_side_runs_the_model_without_importing_tensorflow():
    """The live path runs the model on LiteRT and MediaPipe without TensorFlow: with it
    imported, Streamlit runs keras' clear_session after every script run and stalls the
    video thread."""
    code = (
        "import sys, numpy as np\n"
        "from emotion_core.classifier import EmotionClassifier\n"
        "from emotion_core.pipeline import FramePipeline\n"
        "from emotion_core import live, media, video, analytics, charts, report, model_charts\n"
        "pipeline = FramePipeline(EmotionClassifier())\n"
        "pipeline.process(np.zeros((480, 640, 3), np.uint8), 0.0)\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_a_file_that_is_not_a_model_is_refused_clearly(tmp_path):
    bogus = tmp_path / "emotion_cnn.tflite"
    bogus.write_bytes(b"not a flatbuffer")
    with pytest.raises(ModelLoadError, match="not a TFLite model"):
        EmotionClassifier(bogus)
