"""Training throughput of the shipped architecture: faces per second, oneDNN on and off.

    .venv/bin/python benchmarks/bench_training.py [--batches 24]

Each setting runs in a fresh process (TF_ENABLE_ONEDNN_OPTS is read when TensorFlow is
imported) and times Keras fit steps of batch 64 in float32 on random 48x48 faces, after
a warm-up. The figure behind ``train.py`` turning oneDNN off for float32 training.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import sys, time
import numpy as np, keras
from emotion_core.cnn import build_model
n = int(sys.argv[1]) * 64
x = np.random.default_rng(0).random((n, 48, 48, 1), dtype=np.float32)
y = np.eye(7, dtype=np.float32)[np.random.default_rng(1).integers(0, 7, n)]
m = build_model()
m.compile(optimizer=keras.optimizers.AdamW(1e-3), loss="categorical_crossentropy")
m.fit(x[:320], y[:320], batch_size=64, epochs=1, verbose=0)
t = time.perf_counter()
m.fit(x, y, batch_size=64, epochs=1, verbose=0)
print(n / (time.perf_counter() - t))
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batches", type=int, default=24)
    args = p.parse_args(argv)
    for onednn in ("1", "0"):
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "3"}
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(args.batches)],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        rate = float(out.stdout.strip().splitlines()[-1])
        print(f"oneDNN {'on ' if onednn == '1' else 'off'}: {rate:.0f} faces/s "
              f"({28709 / rate:.0f} s per FER2013 epoch)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
