"""The whole photo path (detector -> crop -> model) on labelled photos of real people.

    .venv/bin/python benchmarks/bench_real_faces.py [--data ../shared/datasets/real-faces-dev]
        [--model assets/emotion_cnn.tflite] [--fer-python /tmp/fer/venv/bin/python]
        [--sweep [--roll DEGREES]] [--json out.json]

Runs ``python -m emotion_core.analyze`` on the ``<emotion>/`` folders exactly as a user
would and scores the largest face of each photo: accuracy (a photo without a face counts
as wrong), macro recall over the seven classes, and the share of photos with a face;
once with the photo default (mirror averaging) and once reading each face once.

``--fer-python`` also runs the ``fer`` package's full default pipeline (its Haar cascade
and mini-Xception, ``FER()``) on the same photos, side by side, in that interpreter: fer
needs TensorFlow and an OpenCV build of its own, so it lives in a scratch virtualenv, never
in this project's (see the README for the three commands that make one).

``--sweep`` instead measures crop framings in-process (detect once, crop each way):
the FER2013-matched framing with and without eye levelling, against the earlier loose
crop, to show what each step buys, also on the photos whose eyes are tilted 8 degrees
or more; ``--roll 20`` turns every photo 20 degrees first, as a tilted head would.
Development data only: nothing here trains on it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emotion_core.classifier import DEFAULT_MODEL_PATH  # noqa: E402
from emotion_core.emotions import LABELS  # noqa: E402
from emotion_core.model_card import (  # noqa: E402
    MODEL_CARD_NAME,
    REAL_PHOTOS_OURS,
    load_card,
    merge_real_photos,
    update_card,
)

if TYPE_CHECKING:
    from emotion_core.detection import FaceBox

OURS_SINGLE_VIEW = f"{REAL_PHOTOS_OURS}, without mirror averaging"

FER_SCRIPT = """
import csv, logging, sys
import cv2
logging.disable(logging.WARNING)
from fer.fer import FER
detector = FER()  # the package's defaults: Haar cascade, its mini-Xception, offsets 10 px
out = csv.writer(sys.stdout)
for line in sys.stdin:
    path = line.strip()
    img = cv2.imread(path)
    faces = detector.detect_emotions(img) if img is not None else []
    if not faces:
        out.writerow([path, ""])
        continue
    face = max(faces, key=lambda f: f["box"][2] * f["box"][3])
    out.writerow([path, max(face["emotions"], key=face["emotions"].get)])
"""


def labelled_photos(data: Path) -> dict[str, str]:
    """File name -> true emotion, from the ``<emotion>/`` folder layout."""
    photos = {p.name: p.parent.name for p in sorted(data.glob("*/*")) if p.is_file()}
    unknown = set(photos.values()) - set(LABELS)
    if unknown:
        raise SystemExit(f"unknown emotion folders in {data}: {sorted(unknown)}")
    return photos


def score(truth: dict[str, str], predicted: dict[str, str | None]) -> dict:
    """Accuracy over all photos, macro recall, per-class recall and the face-found rate."""
    names = sorted(truth)
    y = np.array([truth[n] for n in names])
    p = np.array([predicted.get(n) or "" for n in names])
    recalls = {c: float(np.mean(p[y == c] == c)) for c in LABELS if np.any(y == c)}
    return {
        "photos": len(names),
        "face_found": round(float(np.mean(p != "")), 4),
        "accuracy": round(float(np.mean(p == y)), 4),
        "macro_recall": round(float(np.mean(list(recalls.values()))), 4),
        "recall": {c: round(r, 3) for c, r in recalls.items()},
    }


def run_ours(
    data: Path, model: Path, mirror_averaging: bool = True
) -> tuple[dict[str, str | None], float]:
    """Largest-face predictions through the analyze command, and its wall time."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.csv"
        cmd = [sys.executable, "-m", "emotion_core.analyze", str(data), "--out", str(report)]
        cmd += ["--model", str(model)]
        cmd += ["--mirror-averaging" if mirror_averaging else "--no-mirror-averaging"]
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True)
        seconds = time.perf_counter() - start
        rows = pd.read_csv(report)
    raw = [f"raw_{e}" for e in LABELS]
    faces = rows.dropna(subset=["face_id"]).assign(area=lambda d: d.w * d.h)
    largest = faces.sort_values("area").groupby("file").tail(1)
    predicted: dict[str, str | None] = dict.fromkeys(rows.file.unique())
    for file, probs in zip(largest.file, largest[raw].to_numpy()):
        predicted[file] = LABELS[int(np.argmax(probs))]
    return predicted, seconds


def run_fer(data: Path, python: str) -> tuple[dict[str, str | None], float]:
    """Largest-face predictions of the fer package's default pipeline, and its wall time."""
    paths = "\n".join(str(p) for p in sorted(data.glob("*/*")) if p.is_file())
    start = time.perf_counter()
    out = subprocess.run(
        [python, "-c", FER_SCRIPT], input=paths, capture_output=True, text=True, check=True
    )
    seconds = time.perf_counter() - start
    predicted = {}
    for line in out.stdout.splitlines():
        path, _, label = line.rpartition(",")
        predicted[Path(path).name] = label or None
    return predicted, seconds


def rolled(frame: np.ndarray, degrees: float) -> np.ndarray:
    """The photo turned ``degrees`` about its centre (positive: anticlockwise), edges
    replicated: a head tilted by that much, for the eye-levelling measurement."""
    import cv2

    h, w = frame.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), degrees, 1.0)
    return cv2.warpAffine(frame, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)


def largest_faces(
    data: Path, truth: dict[str, str], roll: float = 0.0
) -> Iterator[tuple[str, np.ndarray, FaceBox]]:
    """(file name, BGR frame, largest face box) of each photo where the app's detector
    finds a face, in file-name order: for in-process measurements on the same crops.
    ``roll`` turns each photo by that many degrees first."""
    from emotion_core.detection import FaceDetector
    from emotion_core.media import decode_image

    with FaceDetector("short") as detector:
        for name in sorted(truth):
            frame = decode_image(data / truth[name] / name).frame_bgr
            if roll:
                frame = rolled(frame, roll)
            if boxes := detector.detect(frame):
                yield name, frame, max(boxes, key=lambda b: b.w * b.h)


TILTED_DEGREES = 8.0  # the sweep also scores photos whose eye line is at least this tilted


def sweep(data: Path, model: Path, truth: dict[str, str], roll: float = 0.0) -> dict[str, dict]:
    """Crop framings compared on the same detections (largest face of each photo), on
    all photos and on those whose eyes are tilted by :data:`TILTED_DEGREES` or more."""
    from emotion_core.classifier import EmotionClassifier
    from emotion_core.preprocessing import (
        LEVEL_ABOVE_DEGREES,
        crop_face,
        eye_angle,
        preprocess_faces,
    )

    variants = {
        "earlier crop (1.3x box, centred, not levelled)": {"scale": 1.3, "shift_up": 0.0},
        "FER2013 framing, not levelled": {},
        "FER2013 framing, every eye tilt levelled": {"level": True, "level_above": 0.0},
        f"FER2013 framing, eyes levelled beyond {LEVEL_ABOVE_DEGREES:g} degrees (the app's)": {
            "level": True
        },
    }
    classifier = EmotionClassifier(model)
    crops: dict[str, list] = {v: [] for v in variants}
    names, tilted = [], set()
    for name, frame, box in largest_faces(data, truth, roll):
        names.append(name)
        if box.eyes is not None and abs(eye_angle(box.eyes)) >= TILTED_DEGREES:
            tilted.add(name)
        for v, kw in variants.items():
            kw = dict(kw)
            eyes = box.eyes if kw.pop("level", False) else None
            crops[v].append(crop_face(frame, box.as_tuple(), eyes, **kw))
    results = {}
    for v in variants:
        probs = classifier.predict(preprocess_faces(crops[v]))
        predicted = {n: LABELS[int(i)] for n, i in zip(names, probs.argmax(1))}
        results[v] = score(truth, predicted)
        if tilted:
            tilted_truth = {n: truth[n] for n in tilted}
            results[f"{v}, eyes tilted {TILTED_DEGREES:.0f}+ degrees"] = score(
                tilted_truth, predicted
            )
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared/datasets/real-faces-dev")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    p.add_argument("--fer-python", help="a Python with the fer package, for the side-by-side")
    p.add_argument("--sweep", action="store_true", help="compare crop framings instead")
    p.add_argument(
        "--roll",
        type=float,
        default=0.0,
        help="with --sweep: turn every photo by this many degrees first (a tilted head)",
    )
    p.add_argument("--json", type=Path, help="also write the figures here")
    p.add_argument(
        "--card",
        action="store_true",
        help="also write them into the model card beside --model (section real_photos; "
        "rows not measured in this run are kept)",
    )
    args = p.parse_args(argv)
    if not args.data.is_dir():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    truth = labelled_photos(args.data)
    if args.sweep:
        results = sweep(args.data, args.model, truth, args.roll)
    else:
        results = {}
        for name, averaging in ((REAL_PHOTOS_OURS, True), (OURS_SINGLE_VIEW, False)):
            predicted, seconds = run_ours(args.data, args.model, averaging)
            results[name] = {**score(truth, predicted), "seconds": round(seconds, 1)}
        if args.fer_python:
            predicted, seconds = run_fer(args.data, args.fer_python)
            results["fer 25.10.3, FER() defaults"] = {
                **score(truth, predicted),
                "seconds": round(seconds, 1),
            }
    print(f"\n{len(truth)} photos in {args.data}\n")
    print("| pipeline | face found | accuracy | macro recall |")
    print("|---|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['face_found']:.1%} | {r['accuracy']:.1%} | {r['macro_recall']:.1%} |")
    for name, r in results.items():
        print(
            f"\n{name}: recall by class "
            + ", ".join(f"{c} {v:.2f}" for c, v in r["recall"].items())
        )
    section = {
        "data": args.data.name,
        "photos": len(truth),
        "model_file": args.model.name,
        "measured_at": time.strftime("%Y-%m-%d"),
        "command": "benchmarks/bench_real_faces.py " + " ".join(sys.argv[1:]),
        "results": results,
    }
    if args.json:
        args.json.write_text(json.dumps(section, indent=2))
    if args.card and not args.sweep:
        card_path = args.model.parent / MODEL_CARD_NAME
        earlier = load_card(card_path).get("real_photos", {})
        update_card(card_path, real_photos=merge_real_photos(earlier, section))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
