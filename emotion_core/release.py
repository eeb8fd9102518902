"""Ship a finished training cycle: ``python -m emotion_core.release checkpoints/cycleN/export``.

The model is trained in cycles: warm restarts from the shipped weights, each exporting a
complete model (``train --out checkpoints/cycleN/export``) to compare before shipping.
Releasing one copies its three model files into ``assets/`` and merges its card into the
shipped card, so the history is kept rather than overwritten:

- ``architecture``, ``input_smoothing``, ``calibration`` (every section of the export's
  card): replaced by the export's;
- ``training``: the new cycle's facts, with every cycle listed in ``training.cycles``
  (epochs, time, best validation accuracy, command) and the totals over all of them;
- ``training_log.csv``: the cycles' epoch logs joined, with a ``cycle`` column;
- ``real_photos``: the export's ``real.json`` (``bench_real_faces.py --json``) becomes
  "this project", and the shipped model's row is kept as "previous model (...)";
- ``evaluation`` / ``variants``: re-measured by :mod:`emotion_core.evaluate` on the copied
  files (int8 as the card's model, float as a variant), and ``status`` rewritten from them.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from emotion_core.model_card import MODEL_CARD_NAME, load_card, merge_real_photos, update_card
from emotion_core.model_files import ModelRef
from emotion_core.training_loop import MODEL_KERAS, MODEL_TFLITE, MODEL_TFLITE_INT8

MODEL_FILES = (MODEL_KERAS, MODEL_TFLITE, MODEL_TFLITE_INT8)
TRAINING_LOG = "training_log.csv"
REAL_PHOTOS_JSON = "real.json"


class ReleaseError(ValueError):
    """An export that cannot be released; the message says what is missing."""


def cycle_entry(number: int, training: dict[str, Any], note: str | None = None) -> dict:
    """One line of ``training.cycles``: what a cycle ran and bought."""
    entry = {
        "cycle": number,
        "epochs": training["epochs_run"],
        "training_seconds": training["training_seconds"],
        "best_val_accuracy": training["best_val_accuracy"],
        "command": training["command"],
        "peak_lr": training.get("peak_lr"),
    }
    if resumed_with := training.get("resumed_with"):
        entry["resumed_with"] = resumed_with
    return entry | ({"note": note} if note else {})


def merge_training(shipped: dict[str, Any], new: dict[str, Any], note: str | None) -> dict:
    """The new cycle's training section, listing every cycle (the shipped card's and this)."""
    cycles = list(shipped.get("cycles") or [])
    if not cycles and shipped:  # a card from before cycles were listed: its run is cycle 1
        cycles = [cycle_entry(1, shipped)]
    cycles.append(cycle_entry(len(cycles) + 1, new, note))
    return {
        **new,
        "cycles": cycles,
        "total_epochs": sum(c["epochs"] for c in cycles),
        "total_training_seconds": sum(c["training_seconds"] for c in cycles),
    }


def join_logs(shipped_log: str, new_log: str, cycle: int) -> str:
    """The shipped epoch log (with or without a ``cycle`` column) plus the new cycle's."""
    rows = [
        {**row, "cycle": row.get("cycle", "1")} for row in csv.DictReader(io.StringIO(shipped_log))
    ]
    rows += [row | {"cycle": str(cycle)} for row in csv.DictReader(io.StringIO(new_log))]
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def status_text(card: dict[str, Any]) -> str:
    """The Model page's one-line training status, written from the card's own figures."""
    training, evaluation = card["training"], card.get("evaluation", {})
    cycles = training.get("cycles") or [cycle_entry(1, training)]
    seconds = sum(c["training_seconds"] for c in cycles)
    epochs = " + ".join(str(c["epochs"]) for c in cycles)
    text = (
        f"Trained {training['finished_at'][:10]} on {training['train_images']:,} FER2013 "
        f"faces in {len(cycles)} cycle{'s' * (len(cycles) > 1)} ({epochs} epochs, "
        f"{seconds // 3600} h {seconds % 3600 // 60} min of training on "
        f"{training.get('hardware', 'this machine')})"
    )
    if "plain" in evaluation:
        text += f": {evaluation['plain']['accuracy']:.1%} on {evaluation['split_name']}"
        if "tta" in evaluation:
            text += f" ({evaluation['tta']['accuracy']:.1%} with mirror TTA)"
    return text + "."


def check_parent(training: dict[str, Any], shipped_keras: Path) -> None:
    """Refuse a cycle that was not started from the shipped weights: its card would list
    the shipped cycles and this one, and miss the unreleased cycle in between. (Exports
    from before the parent was recorded, and runs from scratch, name no parent.)"""
    parent = training.get("init_from")
    if not parent or not shipped_keras.is_file():
        return
    if ModelRef.of(shipped_keras).sha256 != parent["sha256"]:
        raise ReleaseError(
            f"this cycle started from {parent['path']}, which is not the shipped model "
            f"({shipped_keras}): release the cycle that exported it first, so that the "
            "card's history has every cycle"
        )


def release(export: Path, assets: Path, note: str | None = None) -> dict[str, Any]:
    """Copy the export's model files into ``assets`` and merge the cards and logs (the
    evaluation is re-run by :func:`main`). Returns the merged card."""
    needed = (*MODEL_FILES, MODEL_CARD_NAME, REAL_PHOTOS_JSON)
    if missing := [name for name in needed if not (export / name).is_file()]:
        hint = (
            f" (measure it first: benchmarks/bench_real_faces.py --model "
            f"{export / MODEL_TFLITE_INT8} --json {export / REAL_PHOTOS_JSON})"
            if REAL_PHOTOS_JSON in missing
            else ""
        )
        raise ReleaseError(f"{export} cannot be released: missing {', '.join(missing)}{hint}")
    new_card, shipped_card = (
        load_card(export / MODEL_CARD_NAME),
        load_card(assets / MODEL_CARD_NAME),
    )
    if "training" not in new_card:
        raise ReleaseError(f"{export / MODEL_CARD_NAME} has no training section")
    check_parent(new_card["training"], assets / MODEL_KERAS)
    training = merge_training(shipped_card.get("training", {}), new_card["training"], note)
    cycle = training["cycles"][-1]["cycle"]
    # the export's own sections (architecture, input blur, calibration, ...) replace the
    # shipped ones; training and real photos are merged; evaluation is measured afresh
    sections: dict[str, Any] = {
        **{k: v for k, v in new_card.items() if k not in ("labels", "evaluation", "variants")},
        "training": training,
    }
    accuracy = shipped_card.get("evaluation", {}).get("plain", {}).get("accuracy")
    previous = f"previous model (cycle {cycle - 1}" + (
        f", {accuracy:.1%} {shipped_card['evaluation']['split_name']})" if accuracy else ")"
    )
    sections["real_photos"] = merge_real_photos(
        shipped_card.get("real_photos", {}),
        json.loads((export / REAL_PHOTOS_JSON).read_text()),
        previous,
    )
    shipped_log = assets / TRAINING_LOG
    if (export / TRAINING_LOG).is_file():
        old_log = shipped_log.read_text() if shipped_log.is_file() else ""
        shipped_log.write_text(join_logs(old_log, (export / TRAINING_LOG).read_text(), cycle))
    for name in MODEL_FILES:
        shutil.copyfile(export / name, assets / name)
    return update_card(assets / MODEL_CARD_NAME, **sections)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m emotion_core.release", description=__doc__)
    p.add_argument("export", type=Path, help="a cycle's export folder (train --out)")
    p.add_argument("--assets", type=Path, default=Path("assets"), help="the shipped model")
    p.add_argument("--data", type=Path, required=True, help="FER2013, as for evaluate")
    p.add_argument("--note", help="a remark kept with this cycle in training.cycles")
    args = p.parse_args(argv)
    try:
        release(args.export, args.assets, args.note)
    except ReleaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from emotion_core import evaluate

    int8, float_file = args.assets / MODEL_TFLITE_INT8, args.assets / MODEL_TFLITE
    code = evaluate.main(
        ["--model", str(int8), "--data", str(args.data), "--out", str(args.assets)]
    )
    code = code or evaluate.main(
        ["--model", str(float_file), "--data", str(args.data), "--variant"]
    )
    if code:
        return code
    card = load_card(args.assets / MODEL_CARD_NAME)
    card = update_card(args.assets / MODEL_CARD_NAME, status=status_text(card))
    print(f"released cycle {card['training']['cycles'][-1]['cycle']}: {card['status']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
