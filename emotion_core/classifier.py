"""The model adapter: loading, exporting and running the emotion CNN.

Every model-runtime call outside training lives here, so a runtime upgrade is one file's
change. ``.tflite`` models run on LiteRT (``ai_edge_litert``, TensorFlow Lite's successor
package; 2.0-2.2 ms for one face of the shipped int8 network on two idle AVX2 cores,
against 7.1 ms for a tf.function call) without importing TensorFlow: the app's process then
carries no TensorFlow/Keras state for Streamlit to clean up after every script run
(docs/design.md). ``.keras`` files fall back to Keras, which does import TensorFlow.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from emotion_core.preprocessing import FACE_SIZE

log = logging.getLogger(__name__)

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
# The int8 file reads faces as well as the float one (PublicTest 60.1% vs 60.0%) and is
# faster and a quarter of the size: it is the shipped default (README, Model page).
DEFAULT_MODEL_PATH = ASSETS_DIR / "emotion_cnn_int8.tflite"
FLOAT_MODEL_PATH = ASSETS_DIR / "emotion_cnn.tflite"


class ModelLoadError(RuntimeError):
    """The model file is missing or not a model this app can run."""


class EmotionClassifier:
    """Maps a batch of preprocessed faces (N, 48, 48, 1) float32 to (N, 7) probabilities.

    Thread-safe: one instance is shared by every session of the server process; the
    interpreter is not re-entrant, so calls are serialised by a lock (each is ~1-2 ms).
    """

    def __init__(self, path: str | Path = DEFAULT_MODEL_PATH, num_threads: int = 2) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelLoadError(
                f"model file not found: {self.path}. Train one with "
                "`python -m emotion_core.train` or restore assets/ from the repository."
            )
        self._lock = threading.Lock()
        if self.path.suffix == ".tflite":
            self._predict = self._load_tflite(num_threads)
        else:
            self._predict = self._load_keras()
        self.predict(np.zeros((1, FACE_SIZE, FACE_SIZE, 1), np.float32))  # warm up

    def _load_tflite(self, num_threads: int):
        from ai_edge_litert.interpreter import Interpreter

        try:
            interp = Interpreter(model_path=str(self.path), num_threads=num_threads)
        except ValueError as exc:
            raise ModelLoadError(f"{self.path} is not a TFLite model: {exc}") from None
        inp = interp.get_input_details()[0]["index"]
        out = interp.get_output_details()[0]["index"]
        allocated = [0]

        def run(batch: np.ndarray) -> np.ndarray:
            if allocated[0] != len(batch):
                interp.resize_tensor_input(inp, batch.shape)
                interp.allocate_tensors()
                allocated[0] = len(batch)
            interp.set_tensor(inp, batch)
            interp.invoke()
            return interp.get_tensor(out).copy()

        return run

    def _load_keras(self):
        import keras
        import tensorflow as tf

        import emotion_core.cnn  # noqa: F401  registers the model's custom input blur layer

        try:
            model = keras.models.load_model(self.path, compile=False)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"{self.path} is not a Keras model: {exc}") from None
        call = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
        return lambda batch: np.asarray(call(batch), np.float32)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities (N, 7) in Emotion order for float32 faces (N, 48, 48, 1) in 0..1."""
        batch = np.ascontiguousarray(batch, np.float32)
        if batch.ndim != 4 or batch.shape[1:] != (FACE_SIZE, FACE_SIZE, 1):
            raise ValueError(f"expected (N, 48, 48, 1) faces, got {batch.shape}")
        if len(batch) == 0:
            return np.zeros((0, 7), np.float32)
        with self._lock:
            probs = self._predict(batch)
        # An int8 model dequantizes its softmax in steps of 1/256, so a row can sum to
        # 0.996 or 1.004; renormalised, every model gives rows that sum to 1.
        return probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-12)

    def predict_tta(self, batch: np.ndarray) -> np.ndarray:
        """Test-time augmentation: the mean of the predictions for faces and their mirror."""
        both = self.predict(np.concatenate([batch, batch[:, :, ::-1, :]]))
        return (both[: len(batch)] + both[len(batch) :]) / 2.0


def export_tflite(keras_model, path: str | Path) -> Path:
    """Write a float32 Keras model as a TFLite flatbuffer (dynamic batch size)."""
    import tensorflow as tf

    path = Path(path)
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(keras_model).convert())
    return path


def export_tflite_int8(keras_model, path: str | Path, faces: np.ndarray) -> Path:
    """Write a post-training-quantized TFLite model: int8 weights and activations, the
    activation ranges calibrated on ``faces`` (float32 (N, 48, 48, 1), a few hundred
    training faces). Input and output stay float32, so callers do not change."""
    import tensorflow as tf

    def representative():
        for i in range(len(faces)):
            yield [faces[i : i + 1]]

    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    path = Path(path)
    path.write_bytes(converter.convert())
    return path
