"""Train the emotion CNN: ``python -m emotion_core.train --data DIR_OR_CSV --out assets/``.

Resumable: every epoch writes ``last.keras`` (weights + optimizer) and ``state.json`` to
the checkpoint folder, plus ``best.weights.h5`` when validation accuracy improves; ``--resume``
continues from there with the same learning-rate schedule. ``--init-from MODEL``
fine-tunes an existing model on new data. At the end the best model is exported to
``--out`` as ``emotion_cnn.keras`` and ``emotion_cnn.tflite``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

from emotion_core.dataset import DatasetError, FaceDataset, load_training_data
from emotion_core.distillation import DistillationError
from emotion_core.model_card import FER2013_LIMITS

log = logging.getLogger(__name__)

DEFAULT_CHECKPOINTS = Path("checkpoints/fer2013")


def _four_counts(what: str):
    """An argparse type for four comma-separated positive integers, one per stage."""

    def parse(text: str) -> tuple[int, ...]:
        try:
            counts = tuple(int(part) for part in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"not comma-separated {what}: {text!r}") from None
        if len(counts) != 4 or min(counts) < 1:
            raise argparse.ArgumentTypeError(f"four positive {what} are needed, got {text!r}")
        return counts

    return parse


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m emotion_core.train", description=__doc__)
    p.add_argument(
        "--data",
        required=True,
        help="FER2013 folder (train/, test/), fer2013.csv, or a folder of <emotion>/ images",
    )
    p.add_argument("--out", default="assets", help="where the final model is exported")
    p.add_argument("--checkpoints", default=str(DEFAULT_CHECKPOINTS), help="checkpoint folder")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    p.add_argument("--weight-decay", type=float, default=0.01, help="AdamW decoupled decay")
    p.add_argument("--warmup-epochs", type=int, default=3)
    p.add_argument("--patience", type=int, default=15, help="early-stopping patience (epochs)")
    p.add_argument(
        "--val-fraction",
        type=float,
        default=0.1,
        help="held-out share when --data has no test split",
    )
    p.add_argument(
        "--label-smoothing",
        type=float,
        default=0.1,
        help="share of each target spread over the other classes (FER2013's labels are noisy)",
    )
    p.add_argument(
        "--sharp-share",
        type=float,
        default=0.0,
        help="share of training faces not rotated/zoomed/shifted (so not resampled and "
        "softened); pass the same value again with --resume",
    )
    p.add_argument(
        "--distill-from",
        nargs="+",
        metavar="MODEL",
        help="teacher .keras models: train on a blend of the labels and their mirror-averaged "
        "probabilities (knowledge distillation)",
    )
    p.add_argument(
        "--distill-weight",
        type=float,
        default=0.5,
        help="share of each target taken from the teachers (with --distill-from)",
    )
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p.add_argument(
        "--init-from",
        metavar="MODEL",
        help="start from this .keras model (fine-tune); with wider --widths or more --convs, "
        "grow it (its weights kept, new channels and layers added that start out changing "
        "nothing)",
    )
    p.add_argument(
        "--widths",
        type=_four_counts("widths"),
        metavar="W1,W2,W3,W4",
        help="channels of the four convolution stages of a new network (default 32,64,128,256)",
    )
    p.add_argument(
        "--convs",
        type=_four_counts("convolution counts"),
        metavar="C1,C2,C3,C4",
        help="convolutions in each of the four stages of a new network (default 1,2,2,2); "
        "with --init-from, added ones start out passing their input through",
    )
    p.add_argument("--precision", choices=["auto", "float32", "mixed_bfloat16"], default="auto")
    p.add_argument("--no-export", action="store_true", help="keep the checkpoints only")
    p.add_argument(
        "--export-only",
        action="store_true",
        help="no training: export the best checkpoint of --checkpoints again (as a "
        "finished run's last step does, with this version's export steps)",
    )
    p.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)  # quick runs
    args = p.parse_args(argv)
    args.command = "python -m emotion_core.train " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    if not 0.0 <= args.sharp_share <= 1.0:
        p.error("--sharp-share must be between 0 and 1")
    if not 0.0 <= args.distill_weight <= 1.0:
        p.error("--distill-weight must be between 0 and 1")
    if args.resume and args.distill_from:
        p.error("--resume learns from the teachers the run started with: drop --distill-from")
    if args.resume and args.init_from:
        p.error("--resume and --init-from exclude each other")
    if args.resume and (args.widths or args.convs):
        p.error("--resume continues the run's own network: drop --widths and --convs")
    if args.export_only and (args.resume or args.init_from or args.no_export or args.distill_from):
        p.error("--export-only excludes --resume, --init-from, --distill-from and --no-export")
    return args


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        train, val = load_training_data(args.data, args.val_fraction, args.seed)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.limit:
        train, val = train.subset(args.limit, args.seed), val.subset(args.limit, args.seed)
    log.info(
        "train %d images %s, validation %d", len(train), train.class_counts().tolist(), len(val)
    )
    precision = args.precision
    if precision == "auto":
        precision = "mixed_bfloat16" if cpu_supports_bf16() else "float32"
    from emotion_core import training_loop
    from emotion_core.growing import GrowthError

    ckpt = Path(args.checkpoints)
    if args.resume and not (ckpt / "last.keras").is_file():
        print(f"error: --resume: no checkpoint in {ckpt}", file=sys.stderr)
        return 2
    if args.init_from and not Path(args.init_from).is_file():
        print(f"error: --init-from: model not found: {args.init_from}", file=sys.stderr)
        return 2
    if args.export_only:
        if not (ckpt / "state.json").is_file() or not (ckpt / training_loop.BEST_WEIGHTS).is_file():
            print(f"error: --export-only: no finished checkpoint in {ckpt}", file=sys.stderr)
            return 2
        state = json.loads((ckpt / "state.json").read_text())
        precision = state.get("precision", precision)
    else:
        try:
            state = training_loop.run(train, val, args, ckpt, precision)
        except (DistillationError, GrowthError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if args.no_export:
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    training_loop.export_best(
        ckpt, out, training_info(state, train, val, args, precision), train, val
    )
    best, epoch = state["best_val_accuracy"], state["best_epoch"]
    print(f"best validation accuracy {best:.4f} at epoch {epoch}; model written to {out}")
    return 0


def cpu_supports_bf16() -> bool:
    """True on CPUs with AVX512-BF16 or AMX, where mixed_bfloat16 trains ~1.7x faster."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cpu_name() -> str:
    """The CPU's model name, as /proc/cpuinfo gives it (or the platform's word for it)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def training_info(state: dict, train: FaceDataset, val: FaceDataset, args, precision: str) -> dict:
    """The model card's training section: data, schedule, time and hardware. The schedule
    comes from the run's state when it has it (``--export-only`` gets no schedule args)."""
    from emotion_core.training_loop import hyperparameters

    hp = {**hyperparameters(args), **state.get("hyperparameters", {})}
    return {
        "data": str(args.data),
        "trained_on": f"{len(train):,} faces from {args.data}, validated on {len(val):,} "
        "(its test split, PublicTest for FER2013, when it has one): the validation faces "
        "also picked the best epoch and the softmax temperature",
        "limits": list(FER2013_LIMITS),
        "train_images": len(train),
        "validation_images": len(val),
        "epochs_run": state["epoch"],
        "best_epoch": state["best_epoch"],
        "best_val_accuracy": round(state["best_val_accuracy"], 4),
        "training_seconds": round(state["elapsed_seconds"]),
        "batch_size": hp["batch_size"],
        "peak_lr": hp["peak_lr"],
        "optimizer": "AdamW, warm-up + cosine decay",
        "precision": precision,
        "seed": hp["seed"],
        "label_smoothing": hp["label_smoothing"],
        "sharp_share": hp["sharp_share"],
        "hardware": f"{cpu_name()} ({platform.machine()}), {os.cpu_count()} CPU cores, no GPU",
        "finished_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": state.get("command") or args.command,
        **({"export_command": args.command} if args.export_only else {}),
        **({"init_from": state["init_from"]} if "init_from" in state else {}),
        **({"distilled_from": state["distill_from"]} if "distill_from" in state else {}),
        "distill_weight": hp.get("distill_weight", 0.0),
        "resumed": state.get("resumed", 0),
        **({"resumed_with": state["resumed_with"]} if state.get("resumed_with") else {}),
        "state": json.loads(json.dumps(state)),
    }


if __name__ == "__main__":
    raise SystemExit(main())
