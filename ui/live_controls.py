"""The Live page's controls: record switch, pause/resume, snapshot and markers.

Buttons act on the :class:`LiveSession` through callbacks, which run before the
fragment redraws, so the panel shows the new state at once. Messages for the user go
through ``st.session_state`` because a callback cannot draw.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from emotion_core.live import LiveError, LiveSession, LiveSnapshot
from emotion_core.store import MARKER_NOTE_MAX

RECORD_KEY = "live_record"
NOTE_KEY = "live_marker_note"
MESSAGE_KEY = "live_message"  # (kind, text) from the last callback
SNAPSHOT_KEY = "live_snapshot_png"  # (file name, PNG bytes) until saved


def record_switch(live: LiveSession) -> bool:
    """The privacy switch, usable before and during a stream."""
    on = st.toggle(
        "Record this session",
        value=True,
        key=RECORD_KEY,
        help="Off: faces are analysed and shown live, but nothing is stored (no session, "
        "no numbers). Can be switched during a stream.",
    )
    live.set_recording(on)
    return on


def recording_status(snap: LiveSnapshot, record_on: bool) -> None:
    """One line that always says whether anything is being recorded."""
    if not snap.streaming:
        st.caption(
            "The next stream **will be recorded** as numbers (never pictures)."
            if record_on
            else "The next stream **will not be recorded**: nothing will be stored."
        )
    elif snap.paused:
        st.warning("Paused: the video keeps flowing; nothing is analysed or recorded.")
    elif snap.recording:
        st.success(
            f"Recording to session #{snap.session_id}: numbers only, never pictures.",
            icon=":material/radio_button_checked:",
        )
    else:
        st.info("Not recording: faces are analysed live, nothing is stored.")


def _pause(live: LiveSession) -> None:
    if not live.pause():
        st.session_state[MESSAGE_KEY] = ("info", "Nothing to pause: the stream is stopped.")


def _mark(live: LiveSession) -> None:
    note = st.session_state.get(NOTE_KEY, "")
    try:
        t_rel = live.mark(note)
    except (LiveError, ValueError) as exc:
        st.session_state[MESSAGE_KEY] = ("error", str(exc))
        return
    st.session_state[NOTE_KEY] = ""
    # The note is not echoed: st.success renders Markdown, and notes are plain text.
    with_note = " with its note" if note.strip() else ""
    st.session_state[MESSAGE_KEY] = ("success", f"Marked at {t_rel:.1f} s{with_note}.")


def _take_snapshot(live: LiveSession) -> None:
    png = live.snapshot_png()
    if png is None:
        st.session_state[MESSAGE_KEY] = ("info", "The stream is stopped: nothing to take.")
        return
    stamp = datetime.now().strftime("%Y-%m-%dT%H-%M-%S")
    st.session_state[SNAPSHOT_KEY] = (f"emotion-snapshot-{stamp}.png", png)


def _drop_snapshot() -> None:
    st.session_state.pop(SNAPSHOT_KEY, None)


def snapshot_button(live: LiveSession, streaming: bool) -> None:
    """Snapshot: the current annotated frame, encoded on the click, offered as a PNG
    download; the bytes live in this browser session's memory until replaced or the
    stream stops, and are never written to disk.

    Two steps on purpose: a download prepared lazily on the click is served from a
    file Streamlit deletes after two script runs, and the Live panel's 1-second
    refresh runs scripts often enough to cancel it on a busy machine."""
    if not streaming:
        _drop_snapshot()
        st.caption("Snapshot: the stream is stopped, there is nothing to take.")
        return
    left, right = st.columns([1, 4], vertical_alignment="center")
    left.button(
        "Snapshot",
        key="live_snapshot",
        icon=":material/photo_camera:",
        on_click=_take_snapshot,
        args=(live,),
        help="Takes the current annotated frame; you then save it as a PNG.",
    )
    taken = st.session_state.get(SNAPSHOT_KEY)
    if taken:
        name, png = taken
        right.download_button(
            f"Save {name}",
            png,
            name,
            # Served as image/png, headless Chromium cancelled the download (the same
            # bytes as octet-stream arrive); the .png name tells the OS what it is.
            "application/octet-stream",
            key="live_snapshot_save",
            on_click="ignore",  # a rerun here would let Streamlit drop the file mid-fetch
            icon=":material/download:",
        )


def live_controls(live: LiveSession, snap: LiveSnapshot) -> None:
    """Pause/Resume, and Mark moment with an optional note (while streaming)."""
    if not snap.streaming:
        st.caption("The stream is stopped: there is nothing to pause or mark.")
        return
    cols = st.columns([1, 4, 1], vertical_alignment="bottom")
    if snap.paused:
        cols[0].button("Resume", key="live_resume", icon=":material/play_arrow:",
                       on_click=live.resume)  # fmt: skip
    else:
        cols[0].button("Pause", key="live_pause", icon=":material/pause:", on_click=_pause,
                       args=(live,))  # fmt: skip
    cols[1].text_input(
        "Note for the marker (optional)",
        key=NOTE_KEY,
        max_chars=MARKER_NOTE_MAX,
        placeholder="e.g. question 3, ad starts",
    )
    cols[2].button(
        "Mark moment",
        key="live_mark",
        icon=":material/bookmark_add:",
        on_click=_mark,
        args=(live,),
        disabled=not snap.recording,
        help="Stores the moment (and the note) with the session."
        if snap.recording
        else "Recording is off: there is no session to mark.",
    )
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        getattr(st, message[0])(message[1])
