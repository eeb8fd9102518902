"""Fine-tune a model on the user's saved faces and publish it as a new model version.

    python -m emotion_core.finetune --parent assets/emotion_cnn_int8.tflite \
        --faces data/training_faces --models-dir data/models --job-dir data/finetune/JOB

Steps: check the faces folder (file by file) and that every emotion used has enough
faces; hold out part of the user's faces (stratified) for validation; mix in a
rehearsal sample of FER2013 training faces so the model does not forget what FER2013
taught; run the real training command (:func:`emotion_core.train.main`,
``--init-from`` the parent's ``.keras`` weights) into a hidden partial folder; measure
the parent and the new model on the held-out faces and on FER2013 PublicTest; write the
card's ``fine_tune`` section; rename the folder into the versions list. Progress goes
to ``status.json`` in the job folder and the epochs to ``checkpoints/log.csv``
(:mod:`emotion_core.finetune_jobs` reads both). SIGTERM cancels: the partial folder and
the job's copy of the faces are deleted, nothing is published.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from emotion_core.classifier import ASSETS_DIR, EmotionClassifier, ModelLoadError
from emotion_core.dataset import (
    DEFAULT_FER2013,
    IMAGE_SUFFIXES,
    DatasetError,
    FaceDataset,
    load_folder,
    load_split,
    read_image_grey48,
)
from emotion_core.emotions import LABELS
from emotion_core.model_card import MODEL_CARD_NAME, update_card
from emotion_core.model_versions import new_version_name, partial_folder, publish
from emotion_core.preprocessing import to_model_input
from emotion_core.training_faces import (
    MIN_FACES_PER_EMOTION,
    TrainingDataError,
    check_enough,
    check_folder,
    count_faces,
)

log = logging.getLogger(__name__)

STATUS_NAME = "status.json"
CHECKPOINTS = "checkpoints"  # inside the job folder: train.py's log.csv and state.json
MAX_PROBLEMS_SHOWN = 20


@dataclass(frozen=True)
class FinetuneSettings:
    """What a user can choose for one fine-tune (the page's form, the command's flags)."""

    epochs: int = 5
    rehearsal_faces: int = 2000  # FER2013 training faces mixed in; 0 = none
    holdout_fraction: float = 0.2  # of each emotion's saved faces, for validation
    publictest_limit: int = 0  # PublicTest faces measured before/after; 0 = all 3,589
    lr: float = 3e-4  # a third of training from scratch: adjust, do not overwrite
    batch_size: int = 64
    min_per_emotion: int = MIN_FACES_PER_EMOTION
    seed: int = 1234

    def __post_init__(self) -> None:
        if not 1 <= self.epochs <= 100:
            raise ValueError(f"epochs must be 1-100, not {self.epochs}")
        if not 0 <= self.rehearsal_faces <= 30_000:
            raise ValueError(f"rehearsal_faces must be 0-30000, not {self.rehearsal_faces}")
        if not 0.05 <= self.holdout_fraction <= 0.5:
            raise ValueError(f"holdout_fraction must be 0.05-0.5, not {self.holdout_fraction}")
        if self.publictest_limit < 0 or self.min_per_emotion < 2 or self.batch_size < 1:
            raise ValueError("publictest_limit >= 0, min_per_emotion >= 2, batch_size >= 1")
        if not 0 < self.lr < 1:
            raise ValueError(f"lr must be in (0, 1), not {self.lr}")

    def to_argv(self) -> list[str]:
        """The command-line flags that give these settings."""
        return [
            arg
            for name, value in asdict(self).items()
            for arg in (f"--{name.replace('_', '-')}", str(value))
        ]


class Cancelled(BaseException):
    """Raised by the SIGTERM handler; a BaseException so no ``except Exception`` in
    Keras or here swallows it."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    d = FinetuneSettings()
    p = argparse.ArgumentParser(prog="python -m emotion_core.finetune", description=__doc__)
    p.add_argument("--parent", type=Path, required=True, help="the .tflite model to start from")
    p.add_argument("--faces", type=Path, required=True, help="folder of <emotion>/ faces")
    p.add_argument("--models-dir", type=Path, required=True, help="where versions are kept")
    p.add_argument("--job-dir", type=Path, required=True, help="work folder of this job")
    p.add_argument("--fer2013", type=Path, default=DEFAULT_FER2013, help="FER2013 root")
    p.add_argument("--version", help="version name (default ft-<local time>)")
    p.add_argument(
        "--niceness", type=int, default=0, help="lower this process's CPU priority by this much"
    )
    for name, value in asdict(d).items():
        p.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    args = p.parse_args(argv)
    fields = asdict(d)
    args.settings = FinetuneSettings(**{k: getattr(args, k) for k in fields})
    args.command = "python -m emotion_core.finetune " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    return args


def write_status(job_dir: Path, phase: str, **extra: Any) -> None:
    """Atomically replace the job's status file (read by the app while this runs)."""
    status = {"phase": phase, "updated_at": time.time(), **extra}
    tmp = job_dir / f".{STATUS_NAME}.tmp"
    tmp.write_text(json.dumps(status))
    tmp.replace(job_dir / STATUS_NAME)


def check_faces(folder: Path, minimum: int) -> dict[str, int]:
    """Raise TrainingDataError listing every unusable file, or too few faces; return the
    counts per emotion."""
    if not folder.is_dir():
        raise TrainingDataError(f"The training folder {folder} does not exist: save faces first.")
    problems = check_folder(folder)
    if problems:
        shown = "\n".join(f"- {p}" for p in problems[:MAX_PROBLEMS_SHOWN])
        more = len(problems) - MAX_PROBLEMS_SHOWN
        raise TrainingDataError(
            f"The training folder has {len(problems)} unusable entr"
            f"{'y' if len(problems) == 1 else 'ies'}; delete or fix them first:\n{shown}"
            + (f"\n- … and {more} more" if more > 0 else "")
        )
    counts = count_faces(folder)
    check_enough(counts, minimum)
    return counts


def parent_keras(parent: Path) -> Path:
    """The Keras weights beside a ``.tflite`` parent (training needs them)."""
    keras_file = parent.with_name("emotion_cnn.keras")
    if not parent.is_file():
        raise TrainingDataError(f"The model {parent} does not exist.")
    if not keras_file.is_file():
        raise TrainingDataError(
            f"{parent.name} cannot be fine-tuned: its Keras weights ({keras_file}) are missing."
        )
    return keras_file


def parent_version(parent: Path) -> str:
    """The parent's version name, or "shipped" for the model in assets/."""
    if parent.resolve().parent == ASSETS_DIR.resolve():
        return "shipped"
    return parent.parent.name


def rehearsal_sample(fer2013: Path, n: int, seed: int) -> tuple[FaceDataset | None, str]:
    """``n`` random FER2013 training faces (class shares as in FER2013) and a note for
    the card; (None, why) when ``n`` is 0 or FER2013 is not there. Only the sampled
    files are read, not all 28,709."""
    if n <= 0:
        return None, "no rehearsal faces (set to 0)"
    if fer2013.suffix.lower() == ".csv" and fer2013.is_file():
        return load_split(fer2013, "train").subset(n, seed), f"{n} faces from {fer2013}"
    train = fer2013 / "train"
    if not train.is_dir():
        return None, f"FER2013 not found at {fer2013}: no rehearsal faces mixed in"
    paths: list[tuple[Path, int]] = []
    for index, emotion in enumerate(LABELS):
        folder = train / emotion
        if folder.is_dir():
            paths += [
                (p, index) for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES
            ]
    rng = np.random.default_rng(seed)
    picked = rng.permutation(len(paths))[:n]
    faces = [(read_image_grey48(paths[i][0]), paths[i][1]) for i in sorted(picked)]
    faces = [(f, label) for f, label in faces if f is not None]
    if not faces:
        return None, f"no readable FER2013 training faces in {train}"
    images = np.stack([f for f, _ in faces])
    labels = np.asarray([label for _, label in faces], np.int64)
    return FaceDataset(images, labels), f"{len(faces)} random faces of {train}"


def write_faces(folder: Path, data: FaceDataset, prefix: str) -> None:
    """``data`` as PNG files in ``folder/<emotion>/`` (the layout train.py reads)."""
    for i, (face, label) in enumerate(zip(data.images, data.labels)):
        out = folder / LABELS[label]
        out.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out / f"{prefix}{i:05d}.png"), face)


def accuracy(model_file: Path, data: FaceDataset) -> float:
    """Plain accuracy of a model file on faces, through the app's inference path."""
    # Here, not at import: the app's process imports this module, and these bring sklearn.
    from emotion_core.evaluate import predict_split
    from emotion_core.metrics import compute_metrics

    probs = predict_split(EmotionClassifier(model_file), to_model_input(data.images), False, 256)
    return round(compute_metrics(data.labels, probs).accuracy, 4)


def publictest(fer2013: Path, limit: int, seed: int) -> tuple[FaceDataset | None, dict]:
    """PublicTest (or a random ``limit`` of it) and the card's description of it."""
    try:
        test = load_split(fer2013, "test")
    except DatasetError as exc:
        note = f"FER2013 PublicTest not found ({exc}): accuracy on it not measured"
        return None, {"measured": False, "note": note}
    of = len(test)
    if limit and limit < of:
        test = test.subset(limit, seed)
    note = f"a random {len(test):,} of its {of:,} faces" if len(test) < of else "all faces"
    return test, {"measured": True, "faces": len(test), "of": of, "note": note}


def measure(parent: Path, new: Path, holdout: FaceDataset, test: FaceDataset | None) -> dict:
    """Accuracy of the parent and of the new model on the same faces."""
    out = {
        "holdout": {
            "faces": len(holdout),
            "before": accuracy(parent, holdout),
            "after": accuracy(new, holdout),
        }
    }
    if test is not None:
        out["publictest"] = {"before": accuracy(parent, test), "after": accuracy(new, test)}
    return out


_cancelled = False  # set by SIGTERM: the Cancelled it raises may come back as another error


def _on_sigterm(signum, frame) -> None:
    global _cancelled
    _cancelled = True
    raise Cancelled()


@dataclass(frozen=True)
class JobData:
    """The faces of one fine-tune, as split and mixed for training."""

    counts: dict[str, int]  # saved faces per emotion
    user_train: FaceDataset
    user_holdout: FaceDataset
    rehearsal: FaceDataset | None
    rehearsal_note: str

    def section(self) -> dict[str, Any]:
        """The card's description of the data (counts only, never faces)."""
        return {
            "saved_faces": self.counts,
            "user_train_faces": len(self.user_train),
            "user_holdout_faces": len(self.user_holdout),
            "user_train_per_emotion": dict(zip(LABELS, self.user_train.class_counts().tolist())),
            "rehearsal_faces": 0 if self.rehearsal is None else len(self.rehearsal),
            "rehearsal": self.rehearsal_note,
        }


def prepare_data(args: argparse.Namespace, folder: Path, counts: dict[str, int]) -> JobData:
    """Split the saved faces, sample the rehearsal faces and write them in the layout the
    training command reads: ``folder/train/`` (user + rehearsal), ``folder/test/``
    (the held-out user faces, which validate)."""
    s: FinetuneSettings = args.settings
    user_train, user_holdout = load_folder(args.faces).split(s.holdout_fraction, s.seed)
    rehearsal, note = rehearsal_sample(args.fer2013, s.rehearsal_faces, s.seed)
    write_faces(folder / "train", user_train, "user-")
    if rehearsal is not None:
        write_faces(folder / "train", rehearsal, "fer2013-")
    write_faces(folder / "test", user_holdout, "user-")
    return JobData(counts, user_train, user_holdout, rehearsal, note)


def train_argv(data: Path, out: Path, checkpoints: Path, init_from: Path, s: FinetuneSettings):
    """The training command's arguments for a fine-tune: one warm-up epoch, no early stop."""
    flags = {
        "--data": data, "--out": out, "--checkpoints": checkpoints, "--init-from": init_from,
        "--epochs": s.epochs, "--warmup-epochs": 1, "--patience": s.epochs, "--lr": s.lr,
        "--batch-size": s.batch_size, "--seed": s.seed,
    }  # fmt: skip
    return [arg for flag, value in flags.items() for arg in (flag, str(value))]


def run(args: argparse.Namespace) -> Path:
    """Every step of the fine-tune; returns the published version's folder."""
    s: FinetuneSettings = args.settings
    job, started = args.job_dir, time.time()
    write_status(job, "checking", message="Checking the saved faces")
    counts = check_faces(args.faces, s.min_per_emotion)
    keras_file = parent_keras(args.parent)
    write_status(job, "preparing", message="Preparing the training data")
    data = prepare_data(args, job / "data", counts)
    out = partial_folder(args.models_dir, job.name)
    write_status(job, "training", message="Training", epochs=s.epochs)
    from emotion_core import train

    t0 = time.time()
    if train.main(train_argv(job / "data", out, job / CHECKPOINTS, keras_file, s)) != 0:
        raise RuntimeError("the training command failed (see the job's output log)")
    training_seconds = time.time() - t0
    write_status(job, "measuring", message="Measuring before and after")
    from emotion_core.evaluate import file_sha256

    new_file = out / args.parent.name if "int8" in args.parent.name else out / "emotion_cnn.tflite"
    test, test_info = publictest(args.fer2013, s.publictest_limit, s.seed)
    figures = measure(args.parent, new_file, data.user_holdout, test)
    name = args.version or new_version_name()
    parent = {
        "file": args.parent.name,
        "path": str(args.parent),
        "version": parent_version(args.parent),
        "sha256": file_sha256(args.parent),
    }
    section = {
        "version": name,
        "parent": parent,
        "compared_file": new_file.name,
        "data": data.section(),
        "settings": asdict(s),
        "training_seconds": round(training_seconds, 1),
        "total_seconds": round(time.time() - started, 1),
        "holdout": figures["holdout"],
        "publictest": {**test_info, **figures.get("publictest", {})},
        "created_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": args.command,
    }
    update_card(out / MODEL_CARD_NAME, fine_tune=section)
    write_status(job, "publishing", message="Publishing the new version")
    return publish(out, name)


def cleanup(args: argparse.Namespace) -> None:
    """Remove the job's copy of the faces, its weight checkpoints (tens of MB; the epoch
    log and state stay) and any unpublished partial folder."""
    shutil.rmtree(args.job_dir / "data", ignore_errors=True)
    for name in ("last.keras", "best.weights.h5"):
        (args.job_dir / CHECKPOINTS / name).unlink(missing_ok=True)
    shutil.rmtree(partial_folder(args.models_dir, args.job_dir.name), ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        args = parse_args(argv)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.job_dir.mkdir(parents=True, exist_ok=True)
    if args.niceness > 0:
        os.nice(args.niceness)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        try:
            version = run(args)
        except Exception as exc:
            # Raised inside an extension module's initialisation (TensorFlow's import
            # takes a while on a busy CPU), Cancelled resurfaces as an ImportError.
            if _cancelled:
                raise Cancelled() from exc
            raise
    except Cancelled:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut cleanup
        write_status(args.job_dir, "cancelled", message="Cancelled: no version was made")
        print("cancelled", file=sys.stderr)
        return 3
    except (TrainingDataError, DatasetError, ModelLoadError) as exc:
        write_status(args.job_dir, "failed", error=str(exc))
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the job's status must say it failed, whatever the cause
        log.exception("fine-tune failed")
        write_status(args.job_dir, "failed", error=f"{type(exc).__name__}: {exc}")
        return 1
    finally:
        cleanup(args)
        signal.signal(signal.SIGTERM, previous)
    write_status(args.job_dir, "done", message=f"Published {version.name}", version=version.name)
    print(f"published {version}")
    return 0


if __name__ == "__main__":
    code = main()
    # Everything is written and closed by now. Skip the interpreter's teardown: with
    # TensorFlow loaded it took minutes on a busy CPU after a cancel (tf.data threads),
    # and the job holds the fine-tune lock until the process is gone.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
