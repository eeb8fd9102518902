"""Grow a trained emotion CNN into a wider one that starts out computing the same function.

The network underfits FER2013 (training accuracy under augmentation is no higher than
validation accuracy), so capacity is what it lacks; training a wider network from scratch
costs days on two cores. Instead the trained weights are embedded in the wider network:
every old channel keeps its weights, every new channel gets a fresh random kernel, and
the weights *from* a new channel into the next layer start at zero. The wider network
therefore predicts exactly what its parent does, and training only has to teach the new
channels something useful (their outgoing weights get a gradient at once, since the new
channels' activations are not zero).
"""

from __future__ import annotations

import keras
import numpy as np

from emotion_core.cnn import MIN_MAP_SIDE, CnnConfig


class WideningError(ValueError):
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


def check_widenable(parent: CnnConfig, child: CnnConfig) -> None:
    """Raise :class:`WideningError` unless ``child`` only adds channels to ``parent``."""
    if parent.convs_per_stage != child.convs_per_stage:
        raise WideningError(
            f"the parent has {parent.convs_per_stage} convolutions per stage, the new network "
            f"{child.convs_per_stage}: only widths can grow"
        )
    old = (*parent.widths, parent.dense_units)
    new = (*child.widths, child.dense_units)
    if any(n < o for o, n in zip(old, new)):
        raise WideningError(f"the new network {new} is narrower than its parent {old}")


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


def embed_weights(parent: keras.Model, child: keras.Model) -> None:
    """Copy ``parent``'s weights into ``child``, built by :func:`~emotion_core.cnn.build_model`
    as wide as the parent or wider, so that ``child`` computes what ``parent`` does."""
    check_widenable(architecture_of(parent), architecture_of(child))
    for layer in child.layers:
        if not layer.weights:
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
