"""The Keras side of training: schedule, class weights, input pipeline, resumable
checkpoints with early stopping, and export of the best model."""

from __future__ import annotations

import argparse
import json
import logging
import math
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np

from emotion_core.cnn import CnnConfig, build_model
from emotion_core.dataset import FaceDataset
from emotion_core.distillation import (
    TEACHER_CACHE,
    agreement,
    blend_targets,
    cached_teacher_probabilities,
    teacher_probabilities,
    teacher_refs,
)
from emotion_core.emotions import NUM_CLASSES
from emotion_core.growing import architecture_of, check_growable, embed_weights
from emotion_core.metrics import compute_metrics, fit_temperature, log_loss
from emotion_core.model_card import MODEL_CARD_NAME, update_card
from emotion_core.model_files import ModelRef
from emotion_core.preprocessing import to_model_input

log = logging.getLogger(__name__)

MODEL_KERAS = "emotion_cnn.keras"
MODEL_TFLITE = "emotion_cnn.tflite"
MODEL_TFLITE_INT8 = "emotion_cnn_int8.tflite"
INT8_CALIBRATION_FACES = 500  # training faces that set the int8 activation ranges
GROWTH_FACES = 2000  # training faces whose statistics start a grown network's new layers
BEST_WEIGHTS = "best.weights.h5"
# Input blurs tried at export (sigma in pixels; 0 = none). On the cycle-4 model PublicTest
# accuracy rose from 64.3% (none) to 65.0% at 0.4 and 65.9% at 0.5-0.7, but the app's crops
# of real photos are downscaled (INTER_AREA) and already soft: from 0.5 up the blur cost
# 1-2 points of real-photo accuracy (surprise most), at 0.3-0.4 it was neutral there
# (docs/data-quality.md). So the grid stops at 0.4; below 0.3 the kernel is nearly 1 at
# the centre (0.2 changed no prediction).
INPUT_SIGMAS = (0.0, 0.3, 0.4)


def lr_at(epoch: int, args: argparse.Namespace) -> float:
    """Linear warm-up, then cosine decay to 1% of the peak at the last epoch."""
    if epoch < args.warmup_epochs:
        return args.lr * (epoch + 1) / args.warmup_epochs
    span = max(args.epochs - args.warmup_epochs, 1)
    progress = min((epoch - args.warmup_epochs) / span, 1.0)
    return args.lr * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * progress)))


def new_config(args: argparse.Namespace, parent: keras.Model | None) -> CnnConfig:
    """The architecture of a new run: its parent's (or the standard one), with the
    stage widths of ``--widths`` and the convolutions per stage of ``--convs`` when given."""
    config = CnnConfig()
    if parent is not None:
        found = architecture_of(parent)
        config = replace(
            config,
            widths=found.widths,
            convs_per_stage=found.convs_per_stage,
            dense_units=found.dense_units,
        )
    if args.widths:
        config = replace(config, widths=args.widths)
    return replace(config, convs_per_stage=args.convs) if args.convs else config


def hyperparameters(args: argparse.Namespace) -> dict:
    """The schedule and regularisation of a run, kept in its state for the model card."""
    return {
        "batch_size": args.batch_size,
        "peak_lr": args.lr,
        "weight_decay": args.weight_decay,
        "warmup_epochs": args.warmup_epochs,
        "epochs": args.epochs,
        "seed": args.seed,
        "label_smoothing": args.label_smoothing,
        "sharp_share": args.sharp_share,
        "distill_weight": args.distill_weight if args.distill_from else 0.0,
    }


def class_weights(train: FaceDataset) -> dict[int, float]:
    """Square-root inverse-frequency weights: disgust (436 images) gets ~3x, happy ~0.75x."""
    counts = np.maximum(train.class_counts(), 1)
    weights = np.sqrt(len(train) / (NUM_CLASSES * counts))
    return {i: float(w) for i, w in enumerate(weights)}


def data_seed(seed: int, epoch: int) -> int:
    """The seed of the shuffles and augmentations from ``epoch`` on.

    tf.data counts its reshuffles from zero in every process, so a run resumed with its
    start seed would replay its first epochs' batches exactly (seen on 2026-12-07:
    training accuracy jumped 6 points on the replayed faces). A fresh run keeps ``seed``.
    """
    return seed + 1000 * epoch


def make_datasets(
    train: FaceDataset,
    val: FaceDataset,
    args: argparse.Namespace,
    teacher: np.ndarray | None = None,
    seed: int | None = None,
):
    """Batched tf.data pipelines of (faces, targets[, class weights]).

    Targets are one-hot labels (so the loss can smooth them), blended with the teachers'
    probabilities when distilling; the class weights travel as sample weights because
    Keras' ``class_weight`` expects integer labels. ``seed`` (default ``args.seed``)
    drives the shuffle and the augmentation; it seeds the process's generators too, which
    the augmentation layers also draw from.
    """
    import tensorflow as tf

    from emotion_core.augment import build_augmenter, random_erasing

    seed = args.seed if seed is None else seed
    keras.utils.set_random_seed(seed)
    augmenter = build_augmenter(seed, args.sharp_share)
    weights = tf.constant(list(class_weights(train).values()), tf.float32)
    faces = to_model_input(train.images)
    weight = 0.0 if teacher is None else args.distill_weight
    if teacher is None:
        teacher = np.zeros((len(train), NUM_CLASSES), np.float32)

    def augment(x, y, t):
        targets = blend_targets(tf.one_hot(y, NUM_CLASSES), t, weight)
        return random_erasing(augmenter(x)), targets, tf.gather(weights, y)

    train_ds = (
        tf.data.Dataset.from_tensor_slices((faces, train.labels, teacher))
        .shuffle(len(train), seed=seed, reshuffle_each_iteration=True)
        .batch(args.batch_size)
        .map(augment, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    val_labels = np.eye(NUM_CLASSES, dtype=np.float32)[val.labels]
    val_ds = tf.data.Dataset.from_tensor_slices((to_model_input(val.images), val_labels))
    return train_ds, val_ds.batch(256)


class ResumableCheckpoint(keras.callbacks.Callback):
    """Each epoch: save ``last.keras`` and ``state.json``; save ``best.weights.h5`` (weights only:
    the optimizer state is needed to resume, not to export) when
    validation accuracy improves; stop after ``patience`` epochs without improvement.

    All of its state is in ``state.json``, so an interrupted run resumes exactly.
    """

    def __init__(self, folder: Path, state: dict, args: argparse.Namespace) -> None:
        super().__init__()
        self.folder, self.state, self.args = folder, state, args
        self._epoch_start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.time()
        self.model.optimizer.learning_rate.assign(lr_at(epoch, self.args))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        seconds = time.time() - self._epoch_start
        logs["lr"] = float(self.model.optimizer.learning_rate.numpy())
        logs["epoch_seconds"] = round(seconds, 1)
        st = self.state
        st["epoch"] = epoch + 1
        st["elapsed_seconds"] += seconds
        acc = float(logs.get("val_accuracy", 0.0))
        if acc > st["best_val_accuracy"]:
            st.update(best_val_accuracy=acc, best_epoch=epoch + 1, epochs_without_improvement=0)
            self.model.save_weights(self.folder / BEST_WEIGHTS)
        else:
            st["epochs_without_improvement"] += 1
        self.model.save(self.folder / "last.keras.tmp.keras")
        (self.folder / "last.keras.tmp.keras").replace(self.folder / "last.keras")
        (self.folder / "state.json").write_text(json.dumps(st, indent=2))
        log.info(
            "epoch %d: val_accuracy %.4f (best %.4f at %d), %.0f s",
            epoch + 1,
            acc,
            st["best_val_accuracy"],
            st["best_epoch"],
            seconds,
        )
        if st["epochs_without_improvement"] >= self.args.patience:
            log.info("early stopping: no improvement for %d epochs", self.args.patience)
            self.model.stop_training = True


def log_teachers(
    refs: list[dict[str, str]], teacher: np.ndarray, train: FaceDataset, val: FaceDataset
) -> None:
    """Log how good the soft targets are: on the training faces (how far they are from the
    labels) and on the validation split (the student's yardstick: teachers whose mean is
    no better than the student there have little to teach it; docs/training-history.md,
    cycle 15). The validation pass took under two minutes for three teachers."""
    right, on_label = agreement(teacher, train.labels)
    log.info("teachers on the training faces: %.1f%% right, %.2f of their probability on "
             "the label", 100 * right, on_label)  # fmt: skip
    right, _ = agreement(teacher_probabilities(refs, to_model_input(val.images)), val.labels)
    log.info("teachers on the validation split: %.2f%% right (mirror-averaged)", 100 * right)


def run(
    train: FaceDataset, val: FaceDataset, args: argparse.Namespace, folder: Path, precision: str
) -> dict:
    """Train (or resume) and return the final state dict."""
    keras.utils.set_random_seed(args.seed)
    folder.mkdir(parents=True, exist_ok=True)
    parent = None
    if args.init_from and not args.resume:  # checked before the slow teacher pass
        parent = keras.models.load_model(args.init_from, compile=False)
        check_growable(architecture_of(parent), new_config(args, parent))
    if args.resume:
        state = json.loads((folder / "state.json").read_text())
        state["resumed"] = state.get("resumed", 0) + 1
        if state.get("distill_from"):  # a resumed run learns from the same teachers
            args.distill_from = [ref["path"] for ref in state["distill_from"]]
            args.distill_weight = state["hyperparameters"]["distill_weight"]
        # A resume may change the schedule (e.g. fewer epochs to finish inside a session):
        # the card must name every command the run took, and the schedule now in force.
        state.setdefault("resumed_with", []).append(args.command)
        state["hyperparameters"] = hyperparameters(args)
    else:
        state = {
            "epoch": 0,
            "best_val_accuracy": -1.0,
            "best_epoch": 0,
            "epochs_without_improvement": 0,
            "elapsed_seconds": 0.0,
            "config": new_config(args, parent).to_dict(),
            "precision": precision,
            "command": args.command,  # kept through resumes: the card names the real run
            "hyperparameters": hyperparameters(args),  # for the card, even after --export-only
        }
        (folder / TEACHER_CACHE).unlink(missing_ok=True)
        if args.distill_from:
            state["distill_from"] = teacher_refs(args.distill_from)
    teacher = None
    if args.distill_from:  # float32 teachers, before the training precision is set
        faces = to_model_input(train.images)
        teacher = cached_teacher_probabilities(folder, state["distill_from"], faces)
        log_teachers(state["distill_from"], teacher, train, val)
    seed = data_seed(args.seed, state["epoch"])
    train_ds, val_ds = make_datasets(train, val, args, teacher, seed)  # augmenter: float32
    keras.mixed_precision.set_global_policy(precision)
    if args.resume:
        model = keras.models.load_model(folder / "last.keras")
        log.info("resuming after epoch %d (best %.4f)", state["epoch"], state["best_val_accuracy"])
    else:
        config = CnnConfig.from_dict(state["config"])
        model = build_model(config)
        if parent is not None:
            embed_weights(parent, model, to_model_input(train.subset(GROWTH_FACES, 0).images))
            # the parent, so that a release can tell whether it is the shipped model
            state["init_from"] = {
                "path": str(args.init_from),
                "sha256": ModelRef.of(args.init_from).sha256,
            }
            log.info("initialised from %s", args.init_from)
        model.compile(
            optimizer=keras.optimizers.AdamW(lr_at(0, args), weight_decay=args.weight_decay),
            loss=keras.losses.CategoricalCrossentropy(label_smoothing=args.label_smoothing),
            metrics=["accuracy"],
        )
    if state["epoch"] >= args.epochs or state["epochs_without_improvement"] >= args.patience:
        log.info("nothing to do: training already finished at epoch %d", state["epoch"])
        return state
    callbacks = [
        ResumableCheckpoint(folder, state, args),
        keras.callbacks.CSVLogger(str(folder / "log.csv"), append=args.resume),
    ]
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=args.epochs,
        initial_epoch=state["epoch"],
        callbacks=callbacks,
        verbose=1 if sys.stdout.isatty() else 2,
    )
    return state


def load_float32(path: Path, config: CnnConfig) -> keras.Model:
    """A checkpoint (possibly trained in bfloat16) rebuilt as a plain float32 model."""
    keras.mixed_precision.set_global_policy("float32")
    model = build_model(config)
    model.load_weights(path)
    return model


def choose_input_sigma(
    weights: Path, config: CnnConfig, faces: np.ndarray, labels: np.ndarray
) -> tuple[float, dict[str, dict[str, float]]]:
    """The input blur (from :data:`INPUT_SIGMAS`) with the lowest validation log-loss,
    and accuracy and log-loss for each one tried (for the model card)."""
    tried = {}
    for sigma in INPUT_SIGMAS:
        model = load_float32(weights, replace(config, input_sigma=sigma, temperature=1.0))
        probs = model.predict(faces, batch_size=256, verbose=0)
        m, nll = compute_metrics(labels, probs), log_loss(labels, probs)
        tried[str(sigma)] = {"accuracy": round(m.accuracy, 4), "log_loss": round(nll, 4)}
        log.info("input blur sigma %.1f: accuracy %.4f, log-loss %.4f", sigma, m.accuracy, nll)
    best = min(tried, key=lambda k: tried[k]["log_loss"])
    return float(best), tried


def export_best(
    folder: Path, out: Path, training: dict, train: FaceDataset, val: FaceDataset
) -> None:
    """Write the best checkpoint to ``out`` as .keras, float .tflite and int8 .tflite, with
    a softmax temperature fitted on the validation split, and its training facts to the
    model card. Copies the epoch log beside them for the Model page."""
    from emotion_core.classifier import export_tflite, export_tflite_int8

    state = json.loads((folder / "state.json").read_text())
    config = CnnConfig.from_dict(state["config"])
    val_x = to_model_input(val.images)
    sigma, tried = choose_input_sigma(folder / BEST_WEIGHTS, config, val_x, val.labels)
    config = replace(config, input_sigma=sigma, temperature=1.0)
    model = load_float32(folder / BEST_WEIGHTS, config)
    probs = model.predict(val_x, batch_size=256, verbose=0)
    temperature = round(fit_temperature(val.labels, probs), 4)
    config = replace(config, temperature=temperature)
    calibrated = load_float32(folder / BEST_WEIGHTS, config)
    after = calibrated.predict(val_x, batch_size=256, verbose=0)
    calibrated.save(out / MODEL_KERAS)
    export_tflite(calibrated, out / MODEL_TFLITE)
    calibration_faces = to_model_input(train.subset(INT8_CALIBRATION_FACES, seed=0).images)
    export_tflite_int8(calibrated, out / MODEL_TFLITE_INT8, calibration_faces)
    if (folder / "log.csv").is_file():
        shutil.copyfile(folder / "log.csv", out / "training_log.csv")
    update_card(
        out / MODEL_CARD_NAME,
        architecture={
            **config.to_dict(),
            "parameters": int(calibrated.count_params()),
            "input": "48x48 grey face, float32 0..1",
            "output": "7 softmax probabilities",
        },
        input_smoothing={
            "sigma": sigma,
            "why": "the training augmentation resamples (and so softens) every face; a "
            "fixed Gaussian blur of the input makes sharp faces look like training faces",
            "chosen_on": f"the validation split ({len(val)} faces), lowest log-loss",
            "tried": tried,
        },
        calibration={
            "temperature": temperature,
            "fitted_on": f"the validation split ({len(val)} faces), negative log-likelihood",
            "ece_before": round(compute_metrics(val.labels, probs).ece, 4),
            "ece_after": round(compute_metrics(val.labels, after).ece, 4),
        },
        training=training,
    )
    log.info("temperature %.3f; exported %s, %s, %s", temperature, MODEL_KERAS, MODEL_TFLITE,
             MODEL_TFLITE_INT8)  # fmt: skip
