"""The HTTP API as a client sees it: a real ``python -m api`` process (uvicorn) on
localhost, the real model and detector, and a real SQLite file or PostgreSQL server
that the test also opens as the web app's store."""

from __future__ import annotations

import io
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from api_server import ApiServer
from pg_env import empty_store_url
from PIL import Image
from test_analytics import make_session
from test_media import _audio_only, over_long_video, write_video

from emotion_core import api_keys
from emotion_core.classifier import DEFAULT_MODEL_PATH
from emotion_core.emotions import LABELS
from emotion_core.model_files import ModelRef
from emotion_core.report import report_csv, report_filename
from emotion_core.store import SCHEMA_VERSION, SessionStore, sqlite_url

MAX_IMAGE_MB = 0.5  # small limits, so "too large" needs only small test files
MAX_IMAGES = 3
MAX_VIDEO_MB = 2
JOB_TIMEOUT_S = 300.0
POLL_S = 0.05
PROBABILITY_SUM_TOL = 1e-3


@dataclass
class Api:
    url: str
    store: SessionStore
    keys: dict[str, str]  # alice, bob (owners), admin, revoked
    pid: int

    def client(self, who: str | None = "alice") -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def api(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"api-{request.param}")
    url = empty_store_url(request.param, tmp)
    store = SessionStore(url)
    keys = {who: api_keys.create_key(store, who)[0] for who in ("alice", "bob")}
    keys["admin"] = api_keys.create_key(store, "ops", admin=True)[0]
    keys["revoked"], revoked = api_keys.create_key(store, "alice")
    api_keys.revoke_key(store, revoked.id)
    limits = ["--max-image-mb", str(MAX_IMAGE_MB), "--max-images", str(MAX_IMAGES)]
    limits += ["--max-video-mb", str(MAX_VIDEO_MB)]
    with ApiServer(url, tmp / "server.log", *limits) as server:
        yield Api(server.url, store, keys, server.proc.pid)
    store.dispose()


def jpeg(frame_bgr: np.ndarray, quality: int = 90) -> bytes:
    return cv2.imencode(".jpg", frame_bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


@pytest.fixture(scope="module")
def astronaut_jpeg(astronaut_frame) -> bytes:
    return jpeg(astronaut_frame)


def analyse(api: Api, images: list[tuple[str, bytes]], who: str = "alice", **params):
    files = [("files", (name, data, "image/jpeg")) for name, data in images]
    with api.client(who) as c:
        return c.post("/v1/analyze/image", files=files, params=params)


def save_photo(api: Api, astronaut_jpeg: bytes, who: str = "alice") -> int:
    r = analyse(api, [("a.jpg", astronaut_jpeg)], who, save="true")
    assert r.status_code == 200, r.text
    return r.json()["session_id"]


def wait_for_job(
    client: httpx.Client, job_id: str, done=lambda j: j["status"] not in ("queued", "running")
):
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if done(job):
            return job
        time.sleep(POLL_S)
    raise AssertionError(f"job {job_id} did not get there in {JOB_TIMEOUT_S} s: {job}")


# -- photos ----------------------------------------------------------------------------
def test_the_astronaut_comes_back_happy_and_nothing_is_stored(api, astronaut_jpeg):
    before = len(api.store.list_sessions())
    r = analyse(api, [("astronaut.jpg", astronaut_jpeg)])
    assert r.status_code == 200, r.text
    body = r.json()
    [image] = body["images"]
    assert (image["file"], image["width"], image["height"]) == ("astronaut.jpg", 640, 480)
    [face] = image["faces"]
    assert face["label"] == "happy" and face["confidence"] == max(face["probabilities"].values())
    assert list(face["probabilities"]) == list(LABELS)
    assert abs(sum(face["probabilities"].values()) - 1) < PROBABILITY_SUM_TOL
    box = face["box"]
    assert box["x"] >= 80 and box["x"] + box["w"] <= 560 and box["w"] > 50 and box["score"] > 0.5
    assert body["session_id"] is None and len(api.store.list_sessions()) == before


def test_a_picture_without_a_face_gets_a_note(api, astronaut_frame):
    blank = np.full_like(astronaut_frame, 127)
    [image] = analyse(api, [("grey.png", cv2.imencode(".png", blank)[1].tobytes())]).json()[
        "images"
    ]
    assert image["faces"] == [] and "No face" in image["note"]


def test_a_saved_batch_is_one_session_in_the_list_and_in_the_store(api, astronaut_jpeg):
    mirrored = jpeg(cv2.flip(cv2.imdecode(np.frombuffer(astronaut_jpeg, np.uint8), 1), 1))
    r = analyse(api, [("a.jpg", astronaut_jpeg), ("b.jpg", mirrored)], save="true")
    assert r.status_code == 200, r.text
    sid = r.json()["session_id"]
    with api.client() as c:
        listed = {s["id"]: s for s in c.get("/v1/sessions").json()}
    assert listed[sid]["frames"] == 2 and listed[sid]["dominant"] == "happy"
    assert (listed[sid]["source"], listed[sid]["owner"]) == ("image", "alice")
    info = api.store.get_session(sid)  # what the web app's Session analytics page reads
    assert (info.source, info.status, info.source_name, info.owner) == (
        "image", "complete", "a.jpg, b.jpg", "alice",
    )  # fmt: skip
    assert info.model_hash == ModelRef.of(DEFAULT_MODEL_PATH).sha256
    samples = api.store.load_samples(sid)
    assert samples["frame_index"].tolist() == [0, 1] and set(samples["label"]) == {"happy"}
    assert info.settings["mirror_averaging"] is True  # photos: averaged unless asked not to


def test_mirror_averaging_can_be_turned_off(api, astronaut_jpeg):
    def probabilities(**params):
        [image] = analyse(api, [("a.jpg", astronaut_jpeg)], **params).json()["images"]
        return np.array(list(image["faces"][0]["probabilities"].values()))

    averaged, single = probabilities(), probabilities(mirror_averaging="false")
    assert not np.allclose(averaged, single, atol=1e-3)
    assert np.allclose(probabilities(mirror_averaging="true"), averaged)


def test_csv_endpoints_return_the_analytics_pages_bytes(api, astronaut_jpeg):
    web_session = make_session(api.store)  # made in the web app: no owner, admin only
    mine = save_photo(api, astronaut_jpeg)
    for who, sid in (("alice", mine), ("admin", web_session), ("admin", mine)):
        info = api.store.get_session(sid)
        with api.client(who) as c:
            for path, kind in (("frames.csv", "detail"), ("summary.csv", "summary")):
                r = c.get(f"/v1/sessions/{sid}/{path}")
                assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
                assert r.content == report_csv(api.store, sid, kind=kind)
                name = report_filename(info, kind=kind)
                assert r.headers["content-disposition"] == f'attachment; filename="{name}"'


def test_session_detail_carries_the_summary_figures(api):
    sid = make_session(api.store)
    with api.client("admin") as c:
        body = c.get(f"/v1/sessions/{sid}").json()
    assert (body["id"], body["frames"], body["faces"], body["owner"]) == (sid, 12, 2, None)
    summary = body["summary"]
    assert summary["dominant"] == "happy" and summary["rows"] == 17
    assert summary["face_frame_share"] == pytest.approx(10 / 12)
    assert summary["strongest_moment"] is None or isinstance(summary["strongest_moment"], str)


def test_deleting_a_session_removes_it_everywhere(api, astronaut_jpeg):
    sid = save_photo(api, astronaut_jpeg)
    with api.client() as c:
        assert c.delete(f"/v1/sessions/{sid}").status_code == 204
        r = c.get(f"/v1/sessions/{sid}")
        assert (r.status_code, r.json()["detail"]) == (404, f"No session {sid}.")
        assert sid not in [s["id"] for s in c.get("/v1/sessions").json()]
    assert api.store.get_session(sid) is None and api.store.count_samples(sid) == 0


# -- videos ----------------------------------------------------------------------------
def post_video(client: httpx.Client, path: Path, name: str | None = None, **params):
    with path.open("rb") as fh:
        files = {"file": (name or path.name, fh, "video/mp4")}
        return client.post("/v1/analyze/video", files=files, params=params)


def test_a_video_job_runs_to_a_complete_session(api, tmp_path):
    video = write_video(tmp_path / "clip.mp4", seconds=2, fps=10)
    with api.client() as c:
        r = post_video(c, video)
        assert r.status_code == 202, r.text
        assert r.json()["status"] in ("queued", "running")
        job = wait_for_job(c, r.json()["id"])
        assert (job["status"], job["frames_done"], job["error"]) == ("complete", 20, None)
        listed = {s["id"]: s for s in c.get("/v1/sessions").json()}
    sid = job["session_id"]
    assert listed[sid]["source"] == "video" and listed[sid]["frames"] == 20
    info = api.store.get_session(sid)
    assert (info.source, info.status, info.source_name, info.owner) == (
        "video", "complete", "clip.mp4", "alice",
    )  # fmt: skip
    faces = api.store.load_samples(sid).dropna(subset=["face_id"])
    assert len(faces) >= 16 and faces["face_id"].nunique() == 1


def test_a_cancelled_video_job_keeps_an_incomplete_session(api, tmp_path):
    video = write_video(tmp_path / "long.mp4", seconds=40, fps=10)
    with api.client() as c:
        job_id = post_video(c, video).json()["id"]
        started = wait_for_job(
            c,
            job_id,
            lambda j: j["session_id"] is not None or j["status"] not in ("queued", "running"),
        )
        assert started["status"] == "running", started
        sid = started["session_id"]
        r = c.delete(f"/v1/sessions/{sid}")  # still being written: refused, nothing lost
        assert r.status_code == 409 and "cancel its job" in r.json()["detail"]
        assert c.delete(f"/v1/jobs/{job_id}").status_code == 200
        job = wait_for_job(c, job_id)
    assert job["status"] == "cancelled" and job["error"].startswith("Cancelled at")
    assert 0 < job["frames_done"] < 400 and job["session_id"] == sid
    info = api.store.get_session(sid)
    assert info.status == "incomplete" and info.frames == job["frames_done"]


def test_videos_can_be_sampled(api, tmp_path):
    video = write_video(tmp_path / "clip.webm", seconds=2, fps=10, codec="libvpx")
    with api.client() as c:
        job = wait_for_job(c, post_video(c, video, per_second=2).json()["id"])
    assert (job["status"], job["frames_done"]) == ("complete", 4)


def test_a_truncated_video_that_still_decodes_ends_incomplete(api, tmp_path):
    """As on the page: the frames before the cut are kept, the job says why it stopped."""
    whole = write_video(tmp_path / "whole.avi", codec="mpeg4").read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole[: len(whole) // 2])
    with api.client() as c:
        job = wait_for_job(c, post_video(c, cut).json()["id"])
    assert job["status"] == "incomplete" and "truncated" in job["error"]
    assert api.store.get_session(job["session_id"]).status == "incomplete"


# -- bad input -------------------------------------------------------------------------
def _png(size=(64, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 180, 160)).save(buf, format="PNG")
    return buf.getvalue()


def _bomb() -> bytes:
    """A small PNG whose header claims 30000x30000 pixels."""
    png = bytearray(_png())
    ihdr = 8 + 8
    png[ihdr : ihdr + 8] = struct.pack(">II", 30000, 30000)
    png[ihdr + 13 : ihdr + 17] = struct.pack(">I", zlib.crc32(bytes(png[ihdr - 4 : ihdr + 13])))
    return bytes(png)


def _noise_jpeg() -> bytes:  # incompressible: over MAX_IMAGE_MB
    return jpeg(np.random.default_rng(0).integers(0, 256, (800, 800, 3), np.uint8), 100)


BAD_IMAGES = {
    "empty": ([("e.jpg", b"")], {}, 422, "e.jpg: The file is empty (0 bytes)."),
    "corrupt": ([("c.jpg", "TRUNCATE")], {}, 422, "c.jpg: The picture is truncated or corrupt"),
    "text-as-jpg": ([("t.jpg", b"Dear diary " * 50)], {}, 415, "t.jpg: Not a picture this app"),
    "wrong-type": ([("notes.txt", b"hello")], {}, 415, "notes.txt: unsupported file type .txt"),
    "too-large-file": ([("big.jpg", "NOISE")], {}, 413, "big.jpg: the file is"),
    "too-many-pixels": ([("bomb.png", "BOMB")], {}, 413, "bomb.png: The picture is too large"),
    "too-many-files": ([(f"{i}.png", "PNG") for i in range(4)], {}, 413, "At most 3 pictures"),
    "bad-setting": ([("a.png", "PNG")], {"uncertain_threshold": 2}, 422, "uncertain_threshold"),
    "bad-detector": ([("a.png", "PNG")], {"detector": "far"}, 422, "detector: Input should be"),
    "no-file": ([], {}, 422, "files: Field required"),
}


@pytest.mark.parametrize("case", list(BAD_IMAGES))
def test_every_bad_picture_gets_its_status_and_message(api, astronaut_jpeg, case):
    images, params, status, message = BAD_IMAGES[case]
    made = {
        "TRUNCATE": astronaut_jpeg[:4000],
        "NOISE": _noise_jpeg(),
        "BOMB": _bomb(),
        "PNG": _png(),
    }
    images = [(n, made.get(d, d) if isinstance(d, str) else d) for n, d in images]
    before = len(api.store.list_sessions())
    # A good picture in the same request changes nothing: the whole request is refused.
    good = [("good.jpg", astronaut_jpeg)] if case not in ("too-many-files", "no-file") else []
    r = analyse(api, good + images, save="true", **params)
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]
    assert len(api.store.list_sessions()) == before  # nothing saved


def test_every_bad_video_gets_its_status_and_message_and_no_job(api, tmp_path):
    good = write_video(tmp_path / "good.mp4", seconds=1, fps=5)
    empty, noise, text = tmp_path / "empty.mp4", tmp_path / "noise.mp4", tmp_path / "notes.txt"
    empty.write_bytes(b"")
    noise.write_bytes(np.random.default_rng(0).bytes(50_000))
    text.write_text("not a video")
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    huge = tmp_path / "huge.mkv"
    huge.write_bytes(np.random.default_rng(1).bytes(int(MAX_VIDEO_MB * 1024 * 1024) + 10))
    cases = [
        (empty, 422, "empty.mp4: The file is empty"),
        (noise, 415, "noise.mp4: Not a video this app can read"),
        (truncated, 415, "truncated.mp4: Not a video this app can read"),
        (_audio_only(tmp_path / "audio.m4a"), 415, "unsupported file type .m4a"),
        (_audio_only(tmp_path / "audio.mp4"), 415, "audio.mp4: The file has no video stream"),
        (text, 415, "notes.txt: unsupported file type .txt"),
        (huge, 413, "huge.mkv: the file is"),
        (over_long_video(tmp_path / "long.mkv"), 413, "long.mkv: The video is 31 min long"),
    ]
    before = len(api.store.list_sessions())
    with api.client() as c:
        for path, status, message in cases:
            r = post_video(c, path)
            assert (r.status_code, path.name) == (status, path.name), r.text
            assert message in r.json()["detail"]
        r = c.post(
            "/v1/analyze/video", params={"every_n": 0}, files={"file": ("g.mp4", good.read_bytes())}
        )
        assert r.status_code == 422 and "every_n" in r.json()["detail"]
        r = post_video(c, good, per_second=2, every_n=3)
        assert (r.status_code, r.json()["detail"]) == (422, "Give per_second or every_n, not both.")
    assert len(api.store.list_sessions()) == before


def test_an_oversized_request_is_refused_before_it_is_read(api):
    """Over the route's cap (every picture at its limit, plus 1 MB): 413, whether the
    client declares the size up front or streams the body without a Content-Length."""
    head = b'--x\r\nContent-Disposition: form-data; name="files"; filename="a.jpg"\r\n\r\n'
    size = MAX_IMAGES * int(MAX_IMAGE_MB * 1024 * 1024) + 2 * 1024 * 1024
    body = head + b"x" * size + b"\r\n--x--\r\n"
    headers = {"Content-Type": "multipart/form-data; boundary=x"}

    def chunks():
        for i in range(0, len(body), 65536):
            yield body[i : i + 65536]

    with api.client() as c:
        for content in (body, chunks()):
            r = c.post("/v1/analyze/image", content=content, headers=headers)
            assert r.status_code == 413, r.text
            assert "larger than this endpoint accepts (2.5 MB)" in r.json()["detail"]


# -- access ----------------------------------------------------------------------------
ENDPOINTS = [
    ("GET", "/v1/sessions"),
    ("GET", "/v1/sessions/{sid}"),
    ("GET", "/v1/sessions/{sid}/frames.csv"),
    ("GET", "/v1/sessions/{sid}/summary.csv"),
    ("DELETE", "/v1/sessions/{sid}"),
    ("GET", "/v1/jobs/{job}"),
    ("DELETE", "/v1/jobs/{job}"),
    ("GET", "/v1/model"),
    ("POST", "/v1/analyze/image"),
    ("POST", "/v1/analyze/video"),
]


def test_no_wrong_or_revoked_key_gets_401_and_learns_nothing(api, astronaut_jpeg, tmp_path):
    sid = save_photo(api, astronaut_jpeg)
    missing = {"detail": "An API key is required: send the header 'Authorization: Bearer <key>'."}
    invalid = {"detail": "The API key is not valid (unknown or revoked)."}
    headers = {
        None: ({}, missing),
        "basic": ({"Authorization": "Basic YWxpY2U6c2VjcmV0"}, missing),
        "wrong": ({"Authorization": "Bearer emo_" + "x" * 43}, invalid),
        "revoked": ({"Authorization": f"Bearer {api.keys['revoked']}"}, invalid),
    }
    with httpx.Client(base_url=api.url, timeout=60) as c:
        for method, template in ENDPOINTS:
            for existing in (sid, 987654):  # a real id and a made-up one answer alike
                path = template.format(sid=existing, job="0" * 32)
                for what, (h, expected) in headers.items():
                    kw = {"files": {"files": ("a.jpg", astronaut_jpeg)}} if method == "POST" else {}
                    r = c.request(method, path, headers=h, **kw)
                    assert (r.status_code, r.json()) == (401, expected), (method, path, what)
                    assert r.headers["www-authenticate"] == "Bearer"
    assert api.store.get_session(sid) is not None  # the DELETEs did nothing


def test_a_key_revoked_while_the_server_runs_is_refused_at_once(api):
    key, record = api_keys.create_key(api.store, "carol")
    with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {key}"}) as c:
        assert c.get("/v1/sessions").status_code == 200
        assert api_keys.main(["--db", api.store.url, "revoke", str(record.id)]) == 0
        assert c.get("/v1/sessions").status_code == 401


def test_one_owners_key_never_reads_anothers_session_or_job(api, astronaut_jpeg, tmp_path):
    alices = save_photo(api, astronaut_jpeg, "alice")
    bobs = save_photo(api, astronaut_jpeg, "bob")
    web = make_session(api.store)
    with api.client("alice") as alice, api.client("bob") as bob, api.client("admin") as admin:
        job = post_video(alice, write_video(tmp_path / "v.mp4", seconds=1, fps=5)).json()["id"]
        bob_ids = {s["id"] for s in bob.get("/v1/sessions").json()}
        assert bobs in bob_ids and alices not in bob_ids and web not in bob_ids
        assert all(s["owner"] == "bob" for s in bob.get("/v1/sessions").json())
        for sid in (alices, web):
            for method, template in ENDPOINTS[1:5]:
                r = bob.request(method, template.format(sid=sid))
                assert (r.status_code, r.json()) == (404, {"detail": f"No session {sid}."})
        for method in ("GET", "DELETE"):
            r = bob.request(method, f"/v1/jobs/{job}")
            assert (r.status_code, r.json()) == (404, {"detail": f"No job {job}."})
        assert wait_for_job(alice, job)["status"] == "complete"
        admin_ids = {s["id"] for s in admin.get("/v1/sessions").json()}
        assert {alices, bobs, web} <= admin_ids
        assert admin.get(f"/v1/jobs/{job}").status_code == 200
    assert api.store.get_session(alices) and api.store.get_session(web)  # bob deleted nothing


# -- service -------------------------------------------------------------------------
def test_health_docs_and_model_card(api):
    health = httpx.get(f"{api.url}/healthz").json()
    assert health == {
        "status": "ok",
        "schema_version": SCHEMA_VERSION,
        "model": DEFAULT_MODEL_PATH.name,
    }
    docs = httpx.get(f"{api.url}/docs").text
    assert "/static/swagger/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert httpx.get(f"{api.url}/static/swagger/swagger-ui-bundle.js").status_code == 200
    paths = httpx.get(f"{api.url}/openapi.json").json()["paths"]
    for path, methods in paths.items():  # the page documents every 401
        for method, operation in methods.items():
            assert ("401" in operation["responses"]) == path.startswith("/v1/"), (method, path)
    expected = {p for _, p in ENDPOINTS} | {"/healthz"}
    assert {
        p.replace("{session_id}", "{sid}").replace("{job_id}", "{job}") for p in paths
    } == expected
    with api.client() as c:
        model = c.get("/v1/model").json()
    assert model["labels"] == list(LABELS) == model["card"]["labels"]
    assert model["sha256"] == ModelRef.of(DEFAULT_MODEL_PATH).sha256


def test_the_server_process_never_loads_tensorflow(api, astronaut_jpeg):
    """The model runs on LiteRT and MediaPipe is imported without TensorFlow, so the API
    process stays ~250 MB instead of carrying TensorFlow's ~500 MB (docs/design.md)."""
    assert analyse(api, [("a.jpg", astronaut_jpeg)]).status_code == 200
    maps = Path(f"/proc/{api.pid}/maps")
    if not maps.exists():
        pytest.skip("needs Linux /proc to list the server's loaded libraries")
    loaded = maps.read_text()
    assert "litert" in loaded.lower() and "tensorflow" not in loaded.lower()


def test_stopping_the_server_mid_video_keeps_the_frames_as_incomplete(tmp_path):
    """Ctrl-C (SIGINT) while a job runs: uvicorn's shutdown cancels it, and the frames
    analysed so far stay in the store as an incomplete session."""
    url = sqlite_url(tmp_path / "sessions.db")
    store = SessionStore(url)
    key, _ = api_keys.create_key(store, "alice")
    video = write_video(tmp_path / "long.mp4", seconds=40, fps=10)
    with ApiServer(url, tmp_path / "server.log") as server:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as c:
            job = post_video(c, video).json()["id"]
            running = wait_for_job(
                c, job, lambda j: j["frames_done"] > 0 or j["status"] not in ("queued", "running")
            )
        assert running["status"] == "running"
        server.stop()
        assert server.proc.returncode == 0, server.log()
    [info] = store.list_sessions()
    assert (info.status, info.owner) == ("incomplete", "alice")
    assert 0 < info.frames < 400 and store.count_samples(info.id) == info.frames
    store.dispose()
