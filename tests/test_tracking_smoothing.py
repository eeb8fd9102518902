import numpy as np

from emotion_core.detection import FaceBox
from emotion_core.pipeline import label_for
from emotion_core.smoothing import ProbabilitySmoother
from emotion_core.tracking import FaceTracker


def box(x, y, s=50):
    return FaceBox(x, y, s, s, 0.9)


def test_ids_stay_with_moving_faces_and_new_faces_get_new_ids():
    t = FaceTracker()
    ids, _ = t.update([box(10, 10), box(300, 10)])
    assert ids == [1, 2]
    ids, _ = t.update([box(305, 14), box(14, 12)])  # order swapped, both moved a little
    assert ids == [2, 1]
    ids, _ = t.update([box(14, 12), box(305, 14), box(150, 200)])
    assert ids == [1, 2, 3]


def test_fast_move_is_matched_by_centroid():
    t = FaceTracker()
    t.update([box(100, 100)])
    ids, _ = t.update([box(125, 100)])  # IoU about 0.33 -> IoU match or centroid
    assert ids == [1]
    ids, _ = t.update([box(150, 110)])  # IoU below 0.3, centre moved half a box
    assert ids == [1]


def test_a_face_keeps_its_id_when_the_frame_resolution_changes():
    t = FaceTracker()
    assert t.update([box(300, 200, 100), box(40, 40, 60)], (640, 480))[0] == [1, 2]
    # the browser halves the resolution: same faces, half the pixels
    assert t.update([box(150, 100, 50), box(20, 20, 30)], (320, 240))[0] == [1, 2]
    assert t.update([box(152, 101, 50)], (320, 240))[0] == [1]
    assert t.update([box(304, 202, 100)], (640, 480))[0] == [1]
    # without the frame sizes the halved boxes would not match (the old behaviour)
    blind = FaceTracker()
    blind.update([box(300, 200, 100)])
    assert blind.update([box(150, 100, 50)])[0] == [2]


def test_lost_track_is_dropped_after_max_missed_and_id_not_reused():
    t = FaceTracker(max_missed=2)
    t.update([box(10, 10)])
    dropped = set()
    for _ in range(3):
        dropped |= t.update([])[1]
    assert dropped == {1}
    assert t.update([box(10, 10)])[0] == [2]


def test_smoother_seeds_new_face_then_averages():
    s = ProbabilitySmoother()
    a = np.array([1, 0, 0, 0, 0, 0, 0], np.float32)
    b = np.array([0, 0, 0, 1, 0, 0, 0], np.float32)
    assert np.allclose(s.update(1, a, 0.8), a)  # seeded, no fade-in
    out = s.update(1, b, 0.8)
    assert np.allclose(out, 0.8 * a + 0.2 * b)
    s.forget({1})
    assert np.allclose(s.update(1, b, 0.8), b)


def test_uncertain_below_threshold():
    p = np.array([0.3, 0.05, 0.05, 0.35, 0.1, 0.1, 0.05])
    assert label_for(p, 0.3) == ("happy", 0.35)
    assert label_for(p, 0.4)[0] == "uncertain"
