"""Grow a trained emotion CNN into a wider or deeper one that starts out computing the
same function.

When a network underfits FER2013 (training accuracy under augmentation barely above
validation accuracy), capacity is what it lacks, and training a larger network from
scratch costs days on two cores. Instead the trained weights are embedded in the larger
network.

Wider: every old channel keeps its weights, every new channel gets a fresh random kernel,
and the weights *from* a new channel into the next layer start at zero. Training only has
to teach the new channels something useful (their outgoing weights get a gradient at
once, since the new channels' activations are not zero).

Deeper: a stage may end in more convolutions than its parent's. Each new one starts as
the identity (a kernel that passes every channel through) and its batch norm is set from
the statistics of its input on real faces, so that it passes its input through both at
inference and, nearly, in training mode, where batch norm normalises by the batch's own
statistics (docs/training-history.md, cycle 16).
"""

from __future__ import annotations

import keras
import numpy as np

from emotion_core.cnn import MIN_MAP_SIDE, CnnConfig


class GrowthError(ValueError):
    """The parent cannot be embedded in the requested architecture."""


def architecture_of(model: keras.Model) -> CnnConfig:
    """The widths and depths of a model made by :func:`~emotion_core.cnn.build_model`."""
    convs = [layer for layer in model.layers if layer.name.endswith("_conv")]
    stages = sorted({int(layer.name[1:].split("_")[0]) for layer in convs})
    firsts = [model.get_layer(f"s{stage}_1_conv") for stage in stages]
    return CnnConfig(
        widths=tuple(layer.filters for layer in firsts),
        convs_per_stage=tuple(
            sum(layer.name.startswith(f"s{stage}_") for layer in convs) for stage in stages
        ),
        dense_units=model.get_layer("head_dense").units,
    )


def check_growable(parent: CnnConfig, child: CnnConfig) -> None:
    """Raise :class:`GrowthError` unless ``child`` only adds channels or convolutions."""
    if len(parent.convs_per_stage) != len(child.convs_per_stage) or any(
        n < o for o, n in zip(parent.convs_per_stage, child.convs_per_stage)
    ):
        raise GrowthError(
            f"the parent has {parent.convs_per_stage} convolutions per stage, the new network "
            f"{child.convs_per_stage}: stages can only gain convolutions"
        )
    old = (*parent.widths, parent.dense_units)
    new = (*child.widths, child.dense_units)
    if any(n < o for o, n in zip(old, new)):
        raise GrowthError(f"the new network {new} is narrower than its parent {old}")


def _embed(old: np.ndarray, new: np.ndarray, in_axis: int | None) -> np.ndarray:
    """``new`` with ``old`` in its leading corner and the weights from new inputs zeroed."""
    out = new.copy()
    out[tuple(slice(0, n) for n in old.shape)] = old
    if in_axis is not None:
        from_new_inputs = [slice(None)] * new.ndim
        from_new_inputs[in_axis] = slice(old.shape[in_axis], None)
        out[tuple(from_new_inputs)] = 0.0
    return out


def _embed_flattened(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """The dense kernel after ``Flatten``: its rows are (position, channel) pairs, so the
    channels grow inside each of the map's positions, not at the end."""
    positions = MIN_MAP_SIDE * MIN_MAP_SIDE
    grown = _embed(
        old.reshape(positions, -1, old.shape[1]), new.reshape(positions, -1, new.shape[1]), 1
    )
    return grown.reshape(new.shape)


def _start_as_identity(child: keras.Model, conv: keras.layers.Layer, faces: np.ndarray) -> None:
    """Make a new convolution and its batch norm pass their input (a ReLU's, so never
    negative) through unchanged, the batch norm's scale and shift undoing its own
    normalisation by the input's statistics on ``faces``."""
    kernel = np.zeros(conv.kernel.shape, np.float32)
    centre = kernel.shape[0] // 2
    kernel[centre, centre] = np.eye(kernel.shape[2], kernel.shape[3])
    conv.set_weights([kernel])
    inputs = keras.Model(child.inputs, conv.input).predict(faces, batch_size=256, verbose=0)
    mean = inputs.mean(axis=(0, 1, 2))
    var = inputs.var(axis=(0, 1, 2))
    norm = child.get_layer(conv.name.removesuffix("_conv") + "_bn")
    norm.set_weights([np.sqrt(var + norm.epsilon), mean, mean, var])


def embed_weights(parent: keras.Model, child: keras.Model, faces: np.ndarray | None = None) -> None:
    """Copy ``parent``'s weights into ``child``, built by :func:`~emotion_core.cnn.build_model`
    as wide and deep as the parent or more so, so that ``child`` computes what ``parent``
    does. A deeper child needs ``faces`` (float32 (N, 48, 48, 1), a few thousand training
    faces) to set its new batch norms."""
    check_growable(architecture_of(parent), architecture_of(child))
    parent_layers = {layer.name for layer in parent.layers}
    new_convs = []
    for layer in child.layers:
        if not layer.weights:
            continue
        if layer.name not in parent_layers:  # a new convolution or its batch norm
            if layer.name.endswith("_conv"):
                new_convs.append(layer)
            continue
        old_weights = parent.get_layer(layer.name).get_weights()
        new_weights = layer.get_weights()
        grown = []
        for i, (old, new) in enumerate(zip(old_weights, new_weights)):
            if old.shape == new.shape:
                grown.append(old)
            elif i > 0 or old.ndim == 1:  # biases and batch-norm statistics: one per output
                grown.append(_embed(old, new, None))
            elif layer.name == "head_dense":
                grown.append(_embed_flattened(old, new))
            else:  # a kernel: inputs on the second-to-last axis
                grown.append(_embed(old, new, old.ndim - 2))
        layer.set_weights(grown)
    if new_convs and faces is None:
        raise GrowthError("a deeper network needs faces to start its new layers as identities")
    for conv in new_convs:  # in network order: each one's input passes the earlier ones
        _start_as_identity(child, conv, faces)
