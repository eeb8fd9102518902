import csv

import cv2
import numpy as np
import pytest

from emotion_core.dataset import DatasetError, load_csv, load_folder, load_training_data
from emotion_core.emotions import FER2013_CSV_ORDER, LABELS


def make_faces(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 48, 48), dtype=np.uint8), rng.integers(0, 7, n)


def write_folder(root, images, labels):
    for i, (img, lab) in enumerate(zip(images, labels)):
        d = root / LABELS[lab]
        d.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(d / f"{i:04d}.png"), img)


def test_csv_and_folder_give_identical_arrays(tmp_path):
    images, labels = make_faces(30)
    write_folder(tmp_path / "train", images, labels)
    with (tmp_path / "fer2013.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["emotion", "pixels", "Usage"])
        for img, lab in zip(images, labels):
            csv_label = [e.value for e in FER2013_CSV_ORDER].index(LABELS[lab])
            w.writerow([csv_label, " ".join(map(str, img.ravel())), "Training"])
    folder = load_folder(tmp_path / "train")
    table = load_csv(tmp_path / "fer2013.csv", "train")
    order_f = np.lexsort(folder.images.reshape(30, -1)[:, :8].T[::-1])
    order_c = np.lexsort(table.images.reshape(30, -1)[:, :8].T[::-1])
    assert np.array_equal(folder.images[order_f], table.images[order_c])
    assert np.array_equal(folder.labels[order_f], table.labels[order_c])


def test_corrupt_and_odd_files_are_skipped_or_converted(tmp_path, caplog):
    images, _ = make_faces(5)
    write_folder(tmp_path, images, np.zeros(5, int))
    happy = tmp_path / "Happy"
    happy.mkdir()
    cv2.imwrite(str(happy / "colour_big.jpg"), np.full((96, 120, 3), 200, np.uint8))
    (happy / "empty.jpg").write_bytes(b"")
    (happy / "notes.txt").write_text("not an image")
    (happy / "truncated.png").write_bytes(cv2.imencode(".png", images[0])[1].tobytes()[:40])
    ds = load_folder(tmp_path)
    assert len(ds) == 6 and ds.skipped == 3
    assert ds.class_counts()[LABELS.index("happy")] == 1
    assert "skipped 3" in caplog.text


def test_user_mistakes_are_clear_errors(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        load_folder(tmp_path / "missing")
    (tmp_path / "contempt").mkdir()
    with pytest.raises(DatasetError, match="unknown emotion 'contempt'"):
        load_folder(tmp_path)
    (tmp_path / "contempt").rmdir()
    (tmp_path / "sad").mkdir()
    (tmp_path / "sad" / "x.jpg").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="no usable image"):
        load_folder(tmp_path)


def test_plain_folder_is_split_stratified(tmp_path):
    images, _ = make_faces(70, seed=3)
    write_folder(tmp_path, images, np.arange(70) % 7)
    train, val = load_training_data(tmp_path, val_fraction=0.2, seed=0)
    assert len(train) == 56 and len(val) == 14
    assert (val.class_counts() == 2).all()
