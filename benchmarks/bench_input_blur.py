"""What a Gaussian blur of the input does, on PublicTest and on the app's real-photo crops.

    .venv/bin/python benchmarks/bench_input_blur.py [--model assets/emotion_cnn.keras]

The training augmentation resamples every face (rotation, zoom, shift; bilinear), which
softens it, so the export puts a small fixed blur in front of the network
(``emotion_core.training_loop.INPUT_SIGMAS``, ``docs/data-quality.md``). This measures why
and how much: it rebuilds ``--model``'s network *without* its input blur, quantizes it to
int8 as the export does (500 training faces set the ranges), then applies each sigma with
OpenCV before the model:

- PublicTest: accuracy plain and with mirror averaging, plus two 1-pixel resamplings
  (a 46 px centre crop resized up, the face padded to 50 px and resized down) that found it;
- real-faces-dev: the largest face of each photo, cropped as the app crops it (detected
  once), accuracy and macro recall over the photos where a face was found;
- one-face latency (batch of one, 2 threads) of the int8 file without and with the
  model's own blur layer, side by side in this process.

Development data only: nothing here trains on it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_real_faces import labelled_photos, largest_faces  # noqa: E402

from emotion_core.classifier import EmotionClassifier, export_tflite_int8  # noqa: E402
from emotion_core.cnn import CnnConfig, build_model  # noqa: E402
from emotion_core.dataset import DEFAULT_FER2013, load_split  # noqa: E402
from emotion_core.emotions import LABELS  # noqa: E402
from emotion_core.evaluate import timings_ms  # noqa: E402
from emotion_core.model_card import MODEL_CARD_NAME, load_card  # noqa: E402
from emotion_core.preprocessing import crop_face, face_to_grey48, to_grey, to_model_input  # noqa: E402
from emotion_core.training_loop import INT8_CALIBRATION_FACES  # noqa: E402

SIGMAS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.85, 1.0)


def int8_files(keras_file: Path, folder: Path, calibration: np.ndarray) -> tuple[Path, Path, float]:
    """The model as int8 TFLite without its input blur, and with the card's blur."""
    import keras

    config = CnnConfig.from_dict(load_card(keras_file.parent / MODEL_CARD_NAME)["architecture"])
    weights = keras.models.load_model(keras_file, compile=False).get_weights()
    files = []
    for name, sigma in (("plain", 0.0), ("blur", config.input_sigma)):
        model = build_model(replace(config, input_sigma=sigma))
        model.set_weights(weights)
        files.append(export_tflite_int8(model, folder / f"{name}.tflite", calibration))
    return files[0], files[1], config.input_sigma


def blurred(faces: np.ndarray, sigma: float) -> np.ndarray:
    return faces if sigma == 0 else np.stack([cv2.GaussianBlur(f, (0, 0), sigma) for f in faces])


def scores(classifier: EmotionClassifier, faces: np.ndarray, labels: np.ndarray) -> str:
    """Accuracy and macro recall, plain / with mirror averaging."""
    x = to_model_input(faces)
    parts = []
    for probs in (classifier.predict(x), classifier.predict_tta(x)):
        predicted = probs.argmax(1)
        recall = [np.mean(predicted[labels == c] == c) for c in np.unique(labels)]
        parts.append(f"{np.mean(predicted == labels):.1%} / {np.mean(recall):.1%}")
    return "plain " + parts[0] + ", mirror-averaged " + parts[1] + " (accuracy / macro recall)"


def real_photo_crops(data: Path) -> tuple[np.ndarray, np.ndarray]:
    """The app's 48x48 crop of the largest face of each photo, and its label."""
    truth = labelled_photos(data)
    crops, labels = [], []
    for name, frame, box in largest_faces(data, truth):
        crops.append(face_to_grey48(crop_face(to_grey(frame), box.as_tuple(), box.eyes)))
        labels.append(LABELS.index(truth[name]))
    return np.stack(crops), np.array(labels)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", type=Path, default=ROOT / "assets" / "emotion_cnn.keras")
    p.add_argument("--data", type=Path, default=DEFAULT_FER2013)
    p.add_argument("--real", type=Path, default=ROOT.parent / "shared/datasets/real-faces-dev")
    p.add_argument("--runs", type=int, default=400, help="timed calls per file")
    args = p.parse_args(argv)
    test = load_split(args.data, "test")
    calibration = to_model_input(
        load_split(args.data, "train").subset(INT8_CALIBRATION_FACES, 0).images
    )
    with tempfile.TemporaryDirectory() as tmp:
        plain_file, blur_file, sigma = int8_files(args.model, Path(tmp), calibration)
        plain = EmotionClassifier(plain_file)
        print(f"{args.model} rebuilt without its input blur (the card's sigma: {sigma:g})")
        print(f"\nPublicTest ({len(test)} faces), int8:")
        for s in SIGMAS:
            print(f"  sigma {s:<4g} {scores(plain, blurred(test.images, s), test.labels)}")
        up = np.stack([cv2.resize(f[1:47, 1:47], (48, 48)) for f in test.images])
        down = np.stack(
            [cv2.resize(cv2.copyMakeBorder(f, 1, 1, 1, 1, cv2.BORDER_REPLICATE), (48, 48),
                        interpolation=cv2.INTER_AREA) for f in test.images]
        )  # fmt: skip
        print(f"  46 -> 48 bilinear {scores(plain, up, test.labels)}")
        print(f"  50 -> 48 area     {scores(plain, down, test.labels)}")
        if args.real.is_dir():
            crops, labels = real_photo_crops(args.real)
            print(f"\nreal-faces-dev, largest face of the {len(labels)} photos with one, int8:")
            for s in SIGMAS:
                print(f"  sigma {s:<4g} {scores(plain, blurred(crops, s), labels)}")
        face = to_model_input(test.images[:1])
        blur = EmotionClassifier(blur_file)
        print("\none face, batch of one, 2 threads (median ms), alternating:")
        for _ in range(3):
            for name, clf in (("without blur", plain), (f"blur {sigma:g}", blur)):
                print(f"  {name:<13} {np.median(timings_ms(clf.predict, face, args.runs)):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
