"""Hand-crafted face features for the classical baselines, as scikit-learn transformers.

Each transformer takes the faces exactly as :mod:`emotion_core.dataset` loads them,
(N, 48, 48) uint8 grey (a trailing channel axis is accepted), and is stateless: ``fit``
learns nothing, so a pipeline can be assembled from features computed once and a
classifier fitted on them (the hyper-parameter search does that, emotion_core.baselines).
HOG and LBP come from scikit-image.
"""

from __future__ import annotations

import numpy as np
from skimage.feature import hog, local_binary_pattern
from sklearn.base import BaseEstimator, TransformerMixin

from emotion_core.preprocessing import FACE_SIZE

# HOG as in the field notes' first measurement: 9 orientations, 6x6-pixel cells, 2x2-cell
# blocks (L2-Hys): a 48x48 face gives 7x7 blocks x 36 = 1,764 numbers.
HOG_ORIENTATIONS = 9
HOG_CELL = 6
HOG_BLOCK = 2
# LBP: 8 neighbours at radius 1, rotation-invariant "uniform" codes (10 values), one
# normalised histogram per 8x8-pixel cell: 6x6 cells x 10 = 360 numbers.
LBP_POINTS = 8
LBP_RADIUS = 1
LBP_CELL = 8


def as_faces(x: np.ndarray) -> np.ndarray:
    """(N, 48, 48) uint8 from (N, 48, 48) or (N, 48, 48, 1) uint8 faces; refuses others."""
    faces = np.asarray(x)
    if faces.ndim == 4 and faces.shape[3] == 1:
        faces = faces[..., 0]
    if faces.ndim != 3 or faces.shape[1:] != (FACE_SIZE, FACE_SIZE) or faces.dtype != np.uint8:
        raise ValueError(f"expected (N, 48, 48) uint8 faces, got {faces.shape} {faces.dtype}")
    return faces


class _Stateless(TransformerMixin, BaseEstimator):
    """A transformer with nothing to learn."""

    def fit(self, x, y=None):
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True


class PixelVector(_Stateless):
    """Raw pixels scaled to 0..1 like the CNN's input (to_model_input), one row per face."""

    def transform(self, x: np.ndarray) -> np.ndarray:
        faces = as_faces(x)
        return faces.reshape(len(faces), -1).astype(np.float32) / 255.0


class HogFeatures(_Stateless):
    """Histograms of oriented gradients (Dalal & Triggs 2005): edge directions per cell,
    normalised per block, so they survive lighting changes that raw pixels do not."""

    def __init__(self, orientations: int = HOG_ORIENTATIONS, cell: int = HOG_CELL,
                 block: int = HOG_BLOCK) -> None:  # fmt: skip
        self.orientations = orientations
        self.cell = cell
        self.block = block

    def transform(self, x: np.ndarray) -> np.ndarray:
        options = {
            "orientations": self.orientations,
            "pixels_per_cell": (self.cell, self.cell),
            "cells_per_block": (self.block, self.block),
            "block_norm": "L2-Hys",
            "feature_vector": True,
        }
        return np.stack([hog(face, **options) for face in as_faces(x)]).astype(np.float32)


class LbpHistograms(_Stateless):
    """Local binary pattern histograms (Ojala et al. 2002; Shan et al. 2009 for
    expressions): the texture of each cell (wrinkles, teeth, furrows) as a histogram of
    uniform LBP codes, each cell's histogram summing to 1."""

    def __init__(self, points: int = LBP_POINTS, radius: int = LBP_RADIUS,
                 cell: int = LBP_CELL) -> None:  # fmt: skip
        self.points = points
        self.radius = radius
        self.cell = cell

    def transform(self, x: np.ndarray) -> np.ndarray:
        faces = as_faces(x)
        n_codes = self.points + 2  # uniform patterns + one bin for all the others
        cells = FACE_SIZE // self.cell
        out = np.empty((len(faces), cells * cells * n_codes), np.float32)
        for i, face in enumerate(faces):
            codes = local_binary_pattern(face, self.points, self.radius, "uniform")
            codes = codes.astype(np.int64)[: cells * self.cell, : cells * self.cell]
            # (cells, cell, cells, cell) -> one row of codes per cell
            blocks = codes.reshape(cells, self.cell, cells, self.cell).swapaxes(1, 2)
            blocks = blocks.reshape(cells * cells, -1)
            offsets = np.arange(cells * cells)[:, None] * n_codes
            hist = np.bincount((blocks + offsets).ravel(), minlength=cells * cells * n_codes)
            out[i] = hist / float(self.cell * self.cell)
        return out
