"""The resume manifest of a batch run: which files are done, and their report rows.

A file's results are identified by the SHA-256 of its bytes, the model's SHA-256 and
the analysis parameters: the same bytes analysed by the same model the same way give the
same rows, wherever the file lives. The folder holds ``manifest.jsonl`` (append-only, one
event per line, the last line for a key wins; a line cut short by a crash is ignored)
and one CSV of report rows per finished file under ``parts/``, written before its
manifest line, so a line marked done always has its rows.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emotion_core.media import write_report

DONE_STATUSES = ("complete", "incomplete")  # incomplete: the file itself stops early


@dataclass(frozen=True)
class Entry:
    key: str
    file: str
    status: str  # "running", "complete", "incomplete" or "failed"
    session_id: int | None = None
    rows: int = 0
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.status in DONE_STATUSES


def params_digest(params: dict[str, Any]) -> str:
    """A short digest of the analysis parameters (settings, sampling)."""
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Manifest:
    """The manifest folder of one batch run; one writer (the coordinator) at a time."""

    def __init__(self, folder: Path, model_hash: str, params: dict[str, Any]) -> None:
        self.folder = Path(folder)
        (self.folder / "parts").mkdir(parents=True, exist_ok=True)
        self.log = self.folder / "manifest.jsonl"
        self.suffix = f"{model_hash[:16]}-{params_digest(params)}"
        self.entries: dict[str, Entry] = {}
        self._hashes: dict[str, tuple[int, int, str]] = {}  # path -> size, mtime, sha256
        for event in self._read():
            if event.get("type") == "hash":
                self._hashes[event["path"]] = (event["size"], event["mtime_ns"], event["sha256"])
            elif event.get("type") == "entry":
                self.entries[event["key"]] = Entry(**event["entry"])

    def _read(self) -> Iterable[dict[str, Any]]:
        if not self.log.exists():
            return
        for line in self.log.read_text(encoding="utf-8").splitlines():
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a crash

    def _append(self, event: dict[str, Any]) -> None:
        with self.log.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(event) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def key(self, path: Path) -> str:
        """The file's key; its content hash is cached by path, size and mtime."""
        st = path.stat()
        name = str(path.resolve())
        cached = self._hashes.get(name)
        if cached and cached[:2] == (st.st_size, st.st_mtime_ns):
            sha = cached[2]
        else:
            sha = file_digest(path)
            self._hashes[name] = (st.st_size, st.st_mtime_ns, sha)
            event = {"path": name, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha}
            self._append({"type": "hash", **event})
        return f"{sha}-{self.suffix}"

    def part(self, key: str) -> Path:
        return self.folder / "parts" / f"{key}.csv"

    def done(self, key: str) -> Entry | None:
        entry = self.entries.get(key)
        return entry if entry is not None and entry.done and self.part(key).exists() else None

    def record(self, entry: Entry, rows: list[dict[str, Any]] | None = None) -> None:
        """Save an event; with ``rows`` the part CSV is written first (atomically)."""
        if rows is not None:
            tmp = self.part(entry.key).with_suffix(".tmp")
            with tmp.open("w", newline="", encoding="utf-8") as out:
                write_report(rows, out, header=False)
            os.replace(tmp, self.part(entry.key))
        self.entries[entry.key] = entry
        self._append({"type": "entry", "key": entry.key, "entry": entry.__dict__})
