"""The one face preprocessing path shared by training and live inference.

Training data and live crops both go through :func:`face_to_grey48` and
:func:`to_model_input`, so the two can never drift apart.
"""

from __future__ import annotations

import cv2
import numpy as np

FACE_SIZE = 48
# Where FER2013's faces sit in their 48x48 crops, measured by running our detector on
# the PublicTest images (benchmarks/framing_fer2013.py, docs/design.md): the detector's
# square box spans 0.85 of the crop side, and its centre lies 0.09 of the side below the
# crop's centre (FER2013 crops show the forehead). Live crops are cut the same way.
CROP_SCALE = 1.17  # crop side / detector box side
CROP_SHIFT_UP = 0.10  # crop centre above the box centre, in box sides
# Eye tilts up to this many degrees are left alone: the training faces are rotated up to
# about 14 degrees, so the network reads such faces as they are, while BlazeFace's eye
# points are rough enough that levelling them adds noise. Real photos, each face read
# once (benchmarks/bench_real_faces.py --sweep [--roll]): levelling every tilt cost about
# a point on the photos as they are and gained 4.5 on photos turned 20 degrees; levelling
# only beyond 10 degrees keeps the first and nearly all of the second.
LEVEL_ABOVE_DEGREES = 10.0


def _as_uint8(image: np.ndarray) -> np.ndarray:
    """8-bit pixels (16-bit and float 0..1 scaled), a single channel as 2-D."""
    img = np.asarray(image)
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype.kind == "f":
        img = np.clip(img * 255.0, 0, 255).astype(np.uint8)
    elif img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    return img


def to_grey(image: np.ndarray) -> np.ndarray:
    """Return a 2-D uint8 grey image from grey, BGR or BGRA input of any integer or
    float dtype (floats are taken as 0..1, 16-bit as 0..65535)."""
    img = _as_uint8(image)
    if img.ndim == 2:
        return img
    if img.ndim == 3 and img.shape[2] == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    if img.ndim == 3 and img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2GRAY)
    raise ValueError(f"not an image array: shape {img.shape}")


def to_bgr(image: np.ndarray) -> np.ndarray:
    """Any grey, BGR or BGRA image (8 or 16 bit, or float 0..1) as a uint8 BGR frame."""
    img = _as_uint8(image)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.ndim == 3 and img.shape[2] == 3:
        return img
    if img.ndim == 3 and img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    raise ValueError(f"not an image array: shape {img.shape}")


def face_to_grey48(face: np.ndarray) -> np.ndarray:
    """A face crop (grey/BGR/BGRA, any size) as the 48x48 uint8 grey image the CNN sees."""
    grey = to_grey(face)
    if grey.shape != (FACE_SIZE, FACE_SIZE):
        shrinking = grey.shape[0] > FACE_SIZE or grey.shape[1] > FACE_SIZE
        interp = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        grey = cv2.resize(grey, (FACE_SIZE, FACE_SIZE), interpolation=interp)
    return np.ascontiguousarray(grey)


def to_model_input(grey48: np.ndarray) -> np.ndarray:
    """Scale uint8 faces, shape (48, 48) or (N, 48, 48), to float32 (N, 48, 48, 1) in 0..1."""
    batch = np.asarray(grey48, dtype=np.float32)
    if batch.ndim == 2:
        batch = batch[None]
    return (batch / 255.0)[..., None]


def preprocess_faces(faces: list[np.ndarray]) -> np.ndarray:
    """Crops of any size and colour -> one float32 batch (N, 48, 48, 1) for the CNN."""
    if not faces:
        return np.zeros((0, FACE_SIZE, FACE_SIZE, 1), np.float32)
    return to_model_input(np.stack([face_to_grey48(f) for f in faces]))


def enhance_low_light(image_bgr: np.ndarray, clip_limit: float = 2.5) -> np.ndarray:
    """Brighten a dark frame with CLAHE on its luminance (colour kept).

    Works on grey or BGR uint8; returns the same layout. Used before detection so that
    both the detector and the classifier see the enhanced picture.
    """
    tiles = (8, 8) if min(image_bgr.shape[:2]) >= 128 else (2, 2)
    clahe = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=tiles)
    if image_bgr.ndim == 2:
        return clahe.apply(image_bgr)
    lab = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2LAB)
    lab[:, :, 0] = clahe.apply(lab[:, :, 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)


Point = tuple[float, float]


def eye_angle(eyes: tuple[Point, Point]) -> float:
    """The tilt of the line between the two eyes, in degrees (0 = level; positive when the
    eye on the right of the picture is lower, image y pointing down)."""
    (xa, ya), (xb, yb) = sorted(eyes)
    return float(np.degrees(np.arctan2(yb - ya, xb - xa)))


def crop_face(
    frame: np.ndarray,
    box: tuple[int, int, int, int],
    eyes: tuple[Point, Point] | None = None,
    scale: float = CROP_SCALE,
    shift_up: float = CROP_SHIFT_UP,
    level_above: float = LEVEL_ABOVE_DEGREES,
) -> np.ndarray:
    """Cut the square face crop for ``box`` (x, y, w, h in pixels) out of ``frame``,
    framed like the FER2013 training faces.

    The square's side is ``scale`` times the box's longer side, its centre ``shift_up``
    box sides above the box centre. With ``eyes`` (two (x, y) pixel points) tilted by
    more than ``level_above`` degrees, the crop is rotated about its centre so the eyes
    are level. Parts outside the frame are filled by
    replicating the edge, so a face at the border keeps its framing instead of being
    squashed. One affine warp does it all, and only the crop's pixels are computed.
    """
    x, y, w, h = box
    fh, fw = frame.shape[:2]
    if x >= fw or y >= fh or x + w <= 0 or y + h <= 0 or w <= 0 or h <= 0:
        raise ValueError(f"face box {box} lies outside the {fw}x{fh} frame")
    longer = max(w, h)
    side = max(int(round(longer * scale)), 1)
    cx, cy = x + w / 2.0, y + h / 2.0 - shift_up * longer
    angle = eye_angle(eyes) if eyes is not None else 0.0
    if abs(angle) <= level_above:
        angle = 0.0
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    matrix[:, 2] += (side / 2.0 - cx, side / 2.0 - cy)
    return cv2.warpAffine(
        frame, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
