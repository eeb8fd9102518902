"""The emotion CNN architecture: a compact VGG-style network for 48x48 grey faces.

An inference-only blur that matches live faces to the (blurred) training images (see
:mod:`emotion_core.sharpness`), a 2x average pool (blurred faces hold no detail finer
than 24x24, so this loses nothing and makes training ~4x cheaper), four stages of 3x3
convolutions with batch norm down to a 3x3 map, flattened (so the head still knows
*where* a feature is: mouth below, brows above) into a small dense head. Sized for a
single-face inference well under 3 ms on two CPU cores.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import keras
from keras import layers

from emotion_core.emotions import NUM_CLASSES
from emotion_core.preprocessing import FACE_SIZE
from emotion_core.sharpness import InferenceBlur

MIN_MAP_SIDE = 3  # stop pooling at a 3x3 map: the head still sees where features are


@dataclass(frozen=True)
class CnnConfig:
    """Architecture hyper-parameters; stored with checkpoints so a model can be rebuilt."""

    widths: tuple[int, ...] = (32, 64, 128, 256)
    convs_per_stage: tuple[int, ...] = (2, 2, 2, 2)
    dense_units: int = 256
    dropout: float = 0.4
    weight_decay: float = 0.0
    input_blur: float = 0.0  # Gaussian sigma (px at 48x48) applied at inference only
    input_pool: int = 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> CnnConfig:
        return cls(
            widths=tuple(data["widths"]),
            convs_per_stage=tuple(data["convs_per_stage"]),
            dense_units=int(data["dense_units"]),
            dropout=float(data["dropout"]),
            weight_decay=float(data.get("weight_decay", 0.0)),
            input_blur=float(data.get("input_blur", 0.0)),
            input_pool=int(data.get("input_pool", 1)),
        )


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
    x = InferenceBlur(cfg.input_blur, name="match_training_blur")(inputs)
    x = layers.Rescaling(2.0, offset=-1.0, name="scale")(x)
    if cfg.input_pool > 1:
        x = layers.AveragePooling2D(cfg.input_pool, name="input_pool")(x)
    side = FACE_SIZE // cfg.input_pool
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
    outputs = layers.Activation("softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="emotion_cnn")
