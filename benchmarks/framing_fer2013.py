"""Where our face detector puts its box (and the eyes) inside FER2013's 48x48 crops.

    .venv/bin/python benchmarks/framing_fer2013.py [--data ../shared/datasets/fer2013]

The live crop must frame a face the way the training images do. This runs the app's
detector (BlazeFace short range) on PublicTest faces, enlarged 4x and padded with a grey
border (the detector misses faces that fill the whole picture), and prints the box and
eye positions in units of the crop side. ``CROP_SCALE`` and ``CROP_SHIFT_UP`` in
``emotion_core/preprocessing.py`` come from these medians.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emotion_core.dataset import load_split  # noqa: E402
from emotion_core.detection import FaceDetector  # noqa: E402
from emotion_core.preprocessing import eye_angle  # noqa: E402

ENLARGE, PAD = 4, 96  # 48 px -> 192 px, with a 96 px border each side


def measure(faces: np.ndarray) -> np.ndarray:
    """Rows of (box x, y, side, eye centre x, y, eye distance, eye angle), crop side = 1."""
    side = faces.shape[1] * ENLARGE
    rows = []
    with FaceDetector("short", min_confidence=0.3) as detector:
        for face in faces:
            big = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
            padded = cv2.copyMakeBorder(big, PAD, PAD, PAD, PAD, cv2.BORDER_CONSTANT, value=128)
            boxes = detector.detect(padded, 1)
            if not boxes or boxes[0].eyes is None:
                continue
            b = boxes[0]
            (ax, ay), (bx, by) = [((x - PAD) / side, (y - PAD) / side) for x, y in b.eyes]
            rows.append(
                (
                    (b.x - PAD) / side,
                    (b.y - PAD) / side,
                    max(b.w, b.h) / side,
                    (ax + bx) / 2,
                    (ay + by) / 2,
                    float(np.hypot(bx - ax, by - ay)),
                    eye_angle(b.eyes),
                )
            )
    return np.array(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared/datasets/fer2013")
    p.add_argument("--every", type=int, default=3, help="use every Nth PublicTest face")
    args = p.parse_args(argv)
    faces = load_split(args.data, "test").images[:: args.every]
    m = measure(faces)
    print(f"face found in {len(m)} of {len(faces)} PublicTest crops\n")
    names = ["box left", "box top", "box side", "eye centre x", "eye centre y", "eye distance"]
    for name, col in zip([*names, "eye angle (deg)"], m.T):
        p10, med, p90 = np.percentile(col, [10, 50, 90])
        print(f"{name:16s} median {med:7.3f}   10th {p10:7.3f}   90th {p90:7.3f}")
    box_side = np.median(m[:, 2])
    centre_y = np.median(m[:, 1] + m[:, 2] / 2)
    print(f"\ncrop side / box side (CROP_SCALE): {1 / box_side:.3f}")
    print(f"box centre below crop centre, in box sides (CROP_SHIFT_UP): "
          f"{(centre_y - 0.5) / box_side:.3f}")  # fmt: skip
    print(f"median |eye angle|: {np.median(np.abs(m[:, 6])):.1f} degrees")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
