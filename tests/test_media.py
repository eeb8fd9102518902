"""Photos and video files on real pictures: every format, every bad input, sessions."""

from __future__ import annotations

import io
import struct
import threading
import zlib
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image

from emotion_core.media import (
    MAX_SIDE,
    NO_FACE_NOTE,
    MediaError,
    PhotoAnalyser,
    decode_image,
    report_rows,
    save_photo_session,
)
from emotion_core.settings import AnalysisSettings
from emotion_core.video import AnnotatedWriter, FrameSampler, analyse_video, probe_video

FPS = 10
SECONDS = 2
TIME_TOLERANCE_S = 0.011  # one millisecond-scale rounding of container timestamps


def astronaut_rgb() -> np.ndarray:
    return skimage.data.astronaut()


def write_video(
    path: Path, seconds: float = SECONDS, fps: int = FPS, size=(320, 240), codec: str = ""
) -> Path:
    """The astronaut sliding across a dark canvas, encoded with PyAV."""
    w, h = size
    face = cv2.resize(cv2.cvtColor(astronaut_rgb(), cv2.COLOR_RGB2BGR), (h, h))
    writer = AnnotatedWriter(path, w, h, fps, codec)
    n = round(seconds * fps)
    for i in range(n):
        canvas = np.full((h, w, 3), 30, np.uint8)
        x = int((w - h) * i / max(n - 1, 1))
        canvas[:, x : x + h] = face
        writer.write(canvas)
    writer.close()
    return path


@pytest.fixture(scope="module")
def photos(classifier):
    with PhotoAnalyser(classifier, AnalysisSettings()) as analyser:
        yield analyser


def _encode(fmt: str, mode: str = "RGB", **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(astronaut_rgb()).convert(mode).save(buf, format=fmt, **kw)
    return buf.getvalue()


def _png16() -> bytes:
    ok, data = cv2.imencode(".png", cv2.cvtColor(astronaut_rgb(), cv2.COLOR_RGB2BGR) * 257)
    return data.astype(np.uint8).tobytes() if ok else b""


def _png16_grey() -> bytes:
    grey = cv2.cvtColor(astronaut_rgb(), cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257
    return cv2.imencode(".png", grey)[1].tobytes()


FORMATS = {
    "jpeg": lambda: _encode("JPEG", quality=90),
    "png": lambda: _encode("PNG"),
    "webp": lambda: _encode("WEBP", quality=90),
    "bmp": lambda: _encode("BMP"),
    "tiff": lambda: _encode("TIFF"),
    "gif": lambda: _encode("GIF", mode="P"),
    "cmyk-jpeg": lambda: _encode("JPEG", mode="CMYK", quality=90),
    "png-16bit": _png16,
    "png-16bit-grey": _png16_grey,
    "png-rgba": lambda: _encode("PNG", mode="RGBA"),
}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_decodes_and_shows_the_astronauts_face(photos, fmt):
    decoded = decode_image(FORMATS[fmt]())
    assert decoded.frame_bgr.shape == (512, 512, 3) and decoded.frame_bgr.dtype == np.uint8
    assert not decoded.downscaled
    photo = photos.analyse("a", decoded.frame_bgr)
    assert len(photo.result.faces) == 1 and photo.note is None
    assert photo.annotated_bgr.shape == decoded.frame_bgr.shape


def test_png_16bit_keeps_its_brightness():
    eight = decode_image(_encode("PNG")).frame_bgr.astype(int)
    sixteen = decode_image(_png16()).frame_bgr.astype(int)
    assert np.abs(eight - sixteen).mean() < 1.0


def test_transparent_pixels_become_white():
    rgba = np.zeros((64, 64, 4), np.uint8)  # fully transparent black
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
    assert decode_image(buf.getvalue()).frame_bgr.min() == 255


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"Dear diary, this is not a picture.\n" * 20, "Not a picture"),
        (_encode("JPEG", quality=95)[:4000], "truncated"),
    ],
    ids=["zero-byte", "text-renamed-jpg", "truncated-jpeg"],
)
def test_bad_pictures_raise_a_readable_media_error(data, words):
    with pytest.raises(MediaError, match=words):
        decode_image(data)


def test_a_file_path_decodes_like_bytes(tmp_path):
    path = tmp_path / "a.jpg"
    path.write_bytes(_encode("JPEG"))
    assert decode_image(path).frame_bgr.shape == (512, 512, 3)


def test_huge_jpeg_is_downscaled_to_the_max_side_and_still_finds_the_face(photos):
    big = Image.fromarray(astronaut_rgb()).resize((12000, 12000))
    buf = io.BytesIO()
    big.save(buf, format="JPEG", quality=80)
    del big
    photo = photos.analyse_file("big.jpg", buf.getvalue())
    assert max(photo.annotated_bgr.shape[:2]) == MAX_SIDE
    assert len(photo.result.faces) == 1
    assert "Downscaled from 12000x12000" in photo.note


def test_decompression_bomb_is_refused_from_its_header():
    png = bytearray(_encode("PNG"))
    ihdr = 8 + 8  # signature, then length + "IHDR"
    png[ihdr : ihdr + 8] = struct.pack(">II", 30000, 30000)
    png[ihdr + 13 : ihdr + 17] = struct.pack(">I", zlib.crc32(bytes(png[ihdr - 4 : ihdr + 13])))
    with pytest.raises(MediaError, match="too large"):
        decode_image(bytes(png))


def test_a_picture_without_a_face_gives_zero_faces_and_a_note(photos):
    photo = photos.analyse("coffee", cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2BGR))
    assert photo.result.faces == () and photo.note == NO_FACE_NOTE
    [row] = report_rows("coffee.png", photo.result, 0.0)
    assert row["file"] == "coffee.png" and row["face_id"] is None


def test_report_rows_have_box_label_and_seven_probabilities(photos, astronaut_bgr):
    [row] = report_rows("a.png", photos.analyse("a.png", astronaut_bgr).result, 0.0)
    probs = [row[k] for k in row if k.startswith("p_")]
    assert len(probs) == 7 and abs(sum(probs) - 1) < 1e-3
    assert row["w"] > 50 and row["label"] and 0 < row["confidence"] <= 1


def test_a_photo_batch_is_saved_as_one_image_session(photos, astronaut_bgr, store):
    batch = [photos.analyse(f"p{i}.png", astronaut_bgr, i) for i in range(3)]
    sid = save_photo_session(store, [(p.name, p.result) for p in batch], AnalysisSettings())
    info = store.get_session(sid)
    assert (info.source, info.status, info.frames) == ("image", "complete", 3)
    assert info.source_name == "p0.png, p1.png, p2.png" and info.settings["smoothing"] == 0
    assert store.load_samples(sid)["t_rel"].tolist() == [0.0, 1.0, 2.0]


# -- video ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def video_path(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("video") / "astronaut.mp4")


def test_video_becomes_a_tracked_session_on_the_videos_clock(classifier, store, video_path):
    seen = []
    result = analyse_video(
        video_path, classifier, AnalysisSettings(), store=store, on_progress=seen.append
    )
    assert (result.status, result.frames_analysed) == ("complete", FPS * SECONDS)
    info = store.get_session(result.session_id)
    assert (info.source, info.source_name, info.status) == ("video", "astronaut.mp4", "complete")
    samples = store.load_samples(result.session_id)
    faces = samples.dropna(subset=["face_id"])
    assert len(faces) >= 0.8 * FPS * SECONDS and faces["face_id"].nunique() == 1
    expected = samples["frame_index"] / FPS
    assert np.allclose(samples["t_rel"], expected, atol=TIME_TOLERANCE_S)
    assert seen and seen[-1].frames_done == FPS * SECONDS and seen[-1].fraction > 0.9


@pytest.mark.parametrize(
    ("sampler", "times"),
    [
        (FrameSampler(per_second=2), [0.0, 0.5, 1.0, 1.5]),
        (FrameSampler(every_n=5), [0.0, 0.5, 1.0, 1.5]),
    ],
)
def test_the_sampling_rate_is_honoured(classifier, video_path, sampler, times):
    got = []
    analyse_video(
        video_path,
        classifier,
        AnalysisSettings(),
        sampler=sampler,
        on_frame=lambda r, t: got.append(t),
    )
    assert np.allclose(got, times, atol=TIME_TOLERANCE_S)


def test_cancelling_keeps_the_frames_so_far_as_an_incomplete_session(classifier, store, video_path):
    cancel = threading.Event()

    def on_frame(result, t):
        if result.frame_index == 2:
            cancel.set()

    result = analyse_video(
        video_path, classifier, AnalysisSettings(), store=store, cancel=cancel, on_frame=on_frame
    )
    assert (result.status, result.frames_analysed) == ("incomplete", 3)
    assert "Cancelled" in result.error
    assert store.get_session(result.session_id).status == "incomplete"
    assert store.load_samples(result.session_id)["frame_index"].nunique() == 3


def test_cancelling_before_any_frame_leaves_no_session(classifier, store, video_path):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(MediaError, match="Cancelled"):
        analyse_video(video_path, classifier, AnalysisSettings(), store=store, cancel=cancel)
    assert store.list_sessions() == []


@pytest.mark.parametrize(
    ("suffix", "codec"),
    [
        (".mp4", "libx264"),
        (".webm", "libvpx"),
        (".mov", "libx264"),
        (".avi", "mpeg4"),
        (".mkv", "libx264"),
    ],
)
def test_every_container_decodes(classifier, tmp_path, suffix, codec):
    path = write_video(tmp_path / f"v{suffix}", seconds=1, fps=5, codec=codec)
    assert probe_video(path).width == 320
    result = analyse_video(path, classifier, AnalysisSettings())
    assert result.frames_analysed == 5 and result.status == "complete"


def test_the_annotated_copy_is_a_playable_video(classifier, tmp_path, video_path):
    out = tmp_path / "annotated.mp4"
    analyse_video(
        video_path,
        classifier,
        AnalysisSettings(),
        annotated_path=out,
        sampler=FrameSampler(every_n=4),
    )
    info = probe_video(out)
    assert (info.width, info.height) == (320, 240) and info.frames == FPS * SECONDS


def _audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=16000)
        samples = np.zeros((1, 16000), np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 16000
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def test_bad_videos_raise_a_readable_media_error(classifier, tmp_path, video_path, store):
    random_bytes = tmp_path / "random.mp4"
    random_bytes.write_bytes(np.random.default_rng(0).bytes(50_000))
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(video_path.read_bytes()[: video_path.stat().st_size // 2])
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    cases = {
        _audio_only(tmp_path / "audio.m4a"): "no video stream",
        random_bytes: "Not a video",
        truncated: "Not a video",
        empty: "empty",
    }
    for path, words in cases.items():
        with pytest.raises(MediaError, match=words):
            analyse_video(path, classifier, AnalysisSettings(), store=store)
    assert store.list_sessions() == []


def over_long_video(path: Path) -> Path:
    """Two frames 31 minutes apart: over the 30-minute limit, in a few hundred bytes."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=1)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for pts in (0, 31 * 60):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="bgr24")
            frame.pts = pts
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def test_over_long_video_is_refused_up_front(tmp_path):
    path = over_long_video(tmp_path / "long.mkv")
    with pytest.raises(MediaError, match="limit is 30 min"):
        probe_video(path)


class _Stop(BaseException):
    """Like Streamlit's StopException: what a page's callback raises when a rerun cuts in."""


def test_a_run_interrupted_by_its_callback_leaves_an_incomplete_session(
    classifier, store, video_path
):
    def on_frame(result, t):
        if result.frame_index == 4:
            raise _Stop

    with pytest.raises(_Stop):
        analyse_video(video_path, classifier, AnalysisSettings(), store=store, on_frame=on_frame)
    [info] = store.list_sessions()
    assert (info.status, info.frames) == ("incomplete", 5)


def test_a_phone_video_stored_sideways_is_analysed_upright(classifier, tmp_path, astronaut_bgr):
    upright = np.full((320, 240, 3), 30, np.uint8)  # portrait: 240 wide, 320 tall
    upright[40:280] = cv2.resize(astronaut_bgr, (240, 240))
    path = tmp_path / "phone.mp4"
    writer = AnnotatedWriter(path, 320, 240, FPS)
    writer.stream.set_display_rotation(-90)  # shown turned 90 degrees clockwise, as phones do
    for _ in range(5):
        writer.write(np.rot90(upright, 1))  # stored sideways
    writer.close()
    results = []
    analyse_video(path, classifier, AnalysisSettings(), on_frame=lambda r, t: results.append(r))
    with PhotoAnalyser(classifier, AnalysisSettings()) as photos:
        [expected] = photos.analyse("upright", upright).result.faces
    assert {(r.width, r.height) for r in results} == {(240, 320)}
    # The detector also finds upside-down faces, so check it is the upright face's place.
    assert all(len(r.faces) == 1 and r.faces[0].box.iou(expected.box) > 0.5 for r in results)


def test_a_truncated_video_keeps_what_decoded_as_incomplete(classifier, store, tmp_path):
    whole = write_video(tmp_path / "whole.avi", codec="mpeg4").read_bytes()
    path = tmp_path / "cut.avi"
    path.write_bytes(whole[: len(whole) // 2])  # FFmpeg decodes the first part, no error
    result = analyse_video(path, classifier, AnalysisSettings(), store=store)
    assert result.status == "incomplete" and "truncated" in result.error
    assert store.get_session(result.session_id).status == "incomplete"


def test_exif_rotated_photo_is_turned_upright():
    upright = Image.fromarray(astronaut_rgb())
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    buf = io.BytesIO()
    upright.transpose(Image.Transpose.ROTATE_90).save(buf, format="JPEG", quality=95, exif=exif)
    decoded = decode_image(buf.getvalue())
    expected = cv2.cvtColor(astronaut_rgb(), cv2.COLOR_RGB2BGR).astype(int)
    assert np.abs(decoded.frame_bgr.astype(int) - expected).mean() < 5
    assert not decoded.downscaled
