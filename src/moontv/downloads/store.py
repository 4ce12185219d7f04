"""Download tasks on disk, under ``<data dir>/downloads/``:

- ``<id>.json``       the task (status, progress checkpoint); replaced atomically (write + fsync + rename)
- ``<id>.plan.json``  the segment list, written once before the first byte
- ``<id>.<ext>.part`` the output while it grows; segments are appended in order
- ``<id>.<ext>``      the finished file (the ``.part`` renamed)

The checkpoint (``segments_done``, ``part_bytes``) is written only after the ``.part`` bytes it counts are
on disk, so after a crash the ``.part`` is cut back to ``part_bytes`` and the download continues with
segment ``segments_done``: the result has the same bytes as an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from moontv.downloads.plan import Plan

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
ACTIVE = (QUEUED, RUNNING)
_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def new_id() -> str:
    return secrets.token_urlsafe(12)


def valid_id(task_id: str) -> bool:
    return bool(_ID.match(task_id))


@dataclass
class Task:
    id: str
    owner: str
    source: str
    vod_id: str
    episode: int  # 0-based
    title: str
    episode_title: str
    url: str
    status: str = QUEUED
    container: str = "ts"
    segments_total: int = 0
    segments_done: int = 0
    part_bytes: int = 0
    size: int = 0
    duration: float = 0.0
    removed_seconds: float = 0.0
    error: str = ""
    created_at: int = field(default_factory=lambda: int(time.time() * 1000))
    updated_at: int = field(default_factory=lambda: int(time.time() * 1000))

    def public(self) -> dict[str, Any]:
        """What the API shows (never the upstream URL)."""
        data = asdict(self)
        data.pop("url")
        data["progress"] = round(self.segments_done / self.segments_total, 4) if self.segments_total else 0.0
        data["fileName"] = self.file_name
        return data

    @property
    def file_name(self) -> str:
        label = f"{self.title} {self.episode_title}".strip() or self.id
        safe = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", label)[:120]
        return f"{safe}.{self.container}"


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class TaskStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def open(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for stray in self.root.glob("*.tmp"):
            stray.unlink(missing_ok=True)

    def task_path(self, task_id: str) -> Path:
        return self.root / f"{task_id}.json"

    def plan_path(self, task_id: str) -> Path:
        return self.root / f"{task_id}.plan.json"

    def output_path(self, task: Task) -> Path:
        return self.root / f"{task.id}.{task.container}"

    def part_path(self, task: Task) -> Path:
        return self.root / f"{task.id}.{task.container}.part"

    def save(self, task: Task) -> None:
        task.updated_at = int(time.time() * 1000)
        _atomic_write(self.task_path(task.id), orjson.dumps(asdict(task)))

    def save_plan(self, task_id: str, plan: Plan) -> None:
        _atomic_write(self.plan_path(task_id), orjson.dumps(plan.to_json()))

    def load_plan(self, task_id: str) -> Plan | None:
        try:
            return Plan.from_json(orjson.loads(self.plan_path(task_id).read_bytes()))
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None

    def load_all(self) -> list[Task]:
        tasks = []
        names = set(Task.__dataclass_fields__)
        for path in sorted(self.root.glob("*.json")):
            if path.name.endswith(".plan.json"):
                continue
            try:
                data = orjson.loads(path.read_bytes())
                tasks.append(Task(**{k: v for k, v in data.items() if k in names}))
            except (OSError, orjson.JSONDecodeError, TypeError):
                continue
        return sorted(tasks, key=lambda t: t.created_at)

    def delete(self, task: Task) -> None:
        for path in (
            self.output_path(task),
            self.part_path(task),
            self.plan_path(task.id),
            self.task_path(task.id),
        ):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def disk_bytes(self, task: Task) -> int:
        for path in (self.output_path(task), self.part_path(task)):
            with contextlib.suppress(FileNotFoundError):
                return path.stat().st_size
        return 0
