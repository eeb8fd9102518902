"""How long a fine-tune from the app takes, phase by phase, with the page's defaults.

    .venv/bin/python benchmarks/bench_finetune.py [--faces-per-emotion 20] [--epochs 5]
        [--rehearsal 2000] [--publictest-limit 0]

Runs the real job (``FinetuneJobs.start``, the background ``python -m
emotion_core.finetune`` process at niceness 10) on the shipped int8 model with
generated faces (random 48x48 textures, a brightness per emotion: the timing does not
depend on what the faces show, the accuracies printed do and mean nothing here), and
prints the wall time of each phase as the status file reports it, read every 0.5 s.
Everything is written to a temporary folder and removed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emotion_core.classifier import DEFAULT_MODEL_PATH
from emotion_core.dataset import DEFAULT_FER2013
from emotion_core.emotions import LABELS
from emotion_core.finetune import FinetuneSettings
from emotion_core.finetune_jobs import FinetuneJobs
from emotion_core.model_versions import list_versions
from emotion_core.training_faces import save_face


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--faces-per-emotion", type=int, default=20)
    p.add_argument("--epochs", type=int, default=FinetuneSettings.epochs)
    p.add_argument("--rehearsal", type=int, default=FinetuneSettings.rehearsal_faces)
    p.add_argument("--publictest-limit", type=int, default=FinetuneSettings.publictest_limit)
    args = p.parse_args(argv)
    settings = FinetuneSettings(epochs=args.epochs, rehearsal_faces=args.rehearsal,
                                publictest_limit=args.publictest_limit)  # fmt: skip
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        faces, models = Path(tmp) / "faces", Path(tmp) / "models"
        for c, emotion in enumerate(LABELS):
            for _ in range(args.faces_per_emotion):
                face = (rng.integers(0, 80, (48, 48)) + 25 * c).astype(np.uint8)
                save_face(faces, face, emotion)
        jobs = FinetuneJobs(Path(tmp) / "jobs")
        t0 = time.time()
        job_id = jobs.start(DEFAULT_MODEL_PATH, faces, models, settings, DEFAULT_FER2013)
        phases: dict[str, float] = {}
        while True:
            status = jobs.status(job_id)
            phases.setdefault(status.phase, time.time() - t0)
            if not status.running:
                break
            time.sleep(0.5)
        total = time.time() - t0
        if status.phase != "done":
            print(jobs.output_tail(job_id, 30))
            return 1
        [version] = list_versions(models)
        section = version.card["fine_tune"]
    n, data, test = len(LABELS) * args.faces_per_emotion, section["data"], section["publictest"]
    load = os.getloadavg()[0]
    print(
        f"{n} saved faces, {data['rehearsal_faces']} rehearsal, {args.epochs} epochs, "
        f"PublicTest {test.get('faces')} faces; load average {load:.1f} at the end"
    )
    starts = sorted(phases.items(), key=lambda kv: kv[1])
    for (phase, start), (_, end) in zip(starts, [*starts[1:], ("end", total)]):
        print(f"  {phase:<11} {end - start:6.1f} s")
    print(f"  total       {total:6.1f} s (training command {section['training_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
