"""The emotion CNN architecture: a compact VGG-style network for 48x48 grey faces.

Four stages of 3x3 convolutions with batch norm at full 48x48 resolution down to a 3x3
map, flattened (so the head still knows *where* a feature is: mouth below, brows above)
into a small dense head. Sized so that one face takes well under 3 ms on two CPU cores
through LiteRT (see the model card for the measured figure).

Exported models may start with a fixed Gaussian blur (:class:`GaussianSmoothing`): the
training augmentation resamples every face (rotation, zoom and shift, bilinear), which
softens it, so a sharp face at inference is slightly unlike every training face. The
blur's sigma is chosen on the validation split at export, like the softmax temperature.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import keras
import numpy as np
from keras import layers

from emotion_core.emotions import NUM_CLASSES
from emotion_core.preprocessing import FACE_SIZE

MIN_MAP_SIDE = 3  # stop pooling at a 3x3 map: the head still sees where features are


@dataclass(frozen=True)
class CnnConfig:
    """Architecture hyper-parameters; stored with checkpoints so a model can be rebuilt."""

    widths: tuple[int, ...] = (32, 64, 128, 256)
    # One convolution at 48x48: a second one there cost ~25% of the training time.
    convs_per_stage: tuple[int, ...] = (1, 2, 2, 2)
    dense_units: int = 256
    dropout: float = 0.4
    # Logits are divided by this before the softmax: 1 while training, then fitted on the
    # validation split at export so that probabilities mean what they say.
    temperature: float = 1.0
    # Sigma (pixels) of the fixed input blur: 0 (none) while training, chosen at export.
    input_sigma: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> CnnConfig:
        """Rebuild from a stored dict; keys of older configs that no longer apply are ignored."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("widths", "convs_per_stage"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)


@keras.saving.register_keras_serializable(package="emotion_core")
class GaussianSmoothing(layers.Layer):
    """A fixed Gaussian blur with mirrored borders (as ``cv2.GaussianBlur``'s default).

    The kernel is a constant, not a weight, so a model with and without this layer has
    the same ``get_weights()`` list and ``--init-from`` works across both.
    """

    def __init__(self, sigma: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.sigma = float(sigma)
        self.radius = max(1, math.ceil(3 * self.sigma))
        offsets = np.arange(-self.radius, self.radius + 1, dtype=np.float64)
        line = np.exp(-(offsets**2) / (2 * self.sigma**2))
        line /= line.sum()
        self.kernel = np.outer(line, line)[:, :, None, None].astype(np.float32)

    def call(self, x):
        # Mirrored borders from slices and a concatenation, not a MirrorPad op: LiteRT's
        # XNNPACK delegate cannot run MirrorPad, and splitting the graph around it cost
        # 0.3 ms a face; slices and concatenations it runs.
        r = self.radius
        x = keras.ops.concatenate(
            [x[:, i : i + 1] for i in range(r, 0, -1)]
            + [x]
            + [x[:, -i - 1 : -i] for i in range(1, r + 1)],
            axis=1,
        )
        x = keras.ops.concatenate(
            [x[:, :, i : i + 1] for i in range(r, 0, -1)]
            + [x]
            + [x[:, :, -i - 1 : -i] for i in range(1, r + 1)],
            axis=2,
        )
        return keras.ops.depthwise_conv(x, keras.ops.cast(self.kernel, x.dtype), padding="valid")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "sigma": self.sigma}


def _conv_bn_relu(x, filters: int, name: str):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def build_model(config: CnnConfig | None = None) -> keras.Model:
    """A fresh, uncompiled model: input (N, 48, 48, 1) float32 in 0..1, output (N, 7)
    softmax probabilities in :class:`~emotion_core.emotions.Emotion` order.

    The softmax runs in float32 so the model works under a ``mixed_bfloat16`` policy.
    """
    cfg = config or CnnConfig()
    inputs = keras.Input((FACE_SIZE, FACE_SIZE, 1), name="face")
    x = inputs
    if cfg.input_sigma > 0:
        x = GaussianSmoothing(cfg.input_sigma, name="input_smoothing")(x)
    x = layers.Rescaling(2.0, offset=-1.0, name="scale")(x)
    side = FACE_SIZE
    for stage, (width, convs) in enumerate(zip(cfg.widths, cfg.convs_per_stage), start=1):
        for i in range(convs):
            x = _conv_bn_relu(x, width, f"s{stage}_{i + 1}")
        if side > MIN_MAP_SIDE:
            x = layers.MaxPooling2D(name=f"s{stage}_pool")(x)
            side //= 2
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(cfg.dense_units, use_bias=False, name="head_dense")(x)
    x = layers.BatchNormalization(name="head_bn")(x)
    x = layers.ReLU(name="head_relu")(x)
    x = layers.Dropout(cfg.dropout, name="head_drop2")(x)
    x = layers.Dense(NUM_CLASSES, name="logits")(x)
    if cfg.temperature != 1.0:
        x = layers.Rescaling(1.0 / cfg.temperature, name="temperature")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="emotion_cnn")
