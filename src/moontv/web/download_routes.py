"""Server-side downloads (downloads/): queue an episode, follow progress (JSON and SSE), fetch the file.

- ``POST /api/downloads {source, id, episode}``: the episode URL comes from the source's own detail
  answer (a user never hands us a URL to fetch); 201 with the task, 4xx with a message when refused.
- ``GET /api/downloads``: the user's tasks and usage (admins: everyone's, with ``?all=1``).
- ``GET /api/downloads/events``: the same as server-sent events whenever something changes (for clients
  that accept ``text/event-stream``; others get one JSON snapshot).
- ``DELETE /api/downloads/{id}``: cancel and delete (the owner or an admin).
- ``GET /api/downloads/{id}/file``: the finished file, with Range; its owner only, 404 for anyone else.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from moontv.auth.service import Principal
from moontv.downloads.manager import DownloadManager
from moontv.downloads.store import DONE, valid_id
from moontv.errors import ServiceError
from moontv.web.common import find_site
from moontv.web.deps import ActiveUser, State
from moontv.web.responses import NO_STORE, json_response, read_json_object
from moontv.web.state import AppState

router = APIRouter()

MAX_TEXT = 200
SSE_HEARTBEAT = 15.0
SSE_MIN_INTERVAL = 0.5


async def _manager(state: AppState) -> DownloadManager:
    if not state.settings.downloads_enabled:
        raise ServiceError(404, "服务器下载未启用")
    return await state.services.started_downloads()


def _listing(manager: DownloadManager, user: Principal, everyone: bool) -> dict[str, Any]:
    tasks = manager.visible(user.username, admin=everyone)
    data: dict[str, Any] = {
        "tasks": [t.public() for t in reversed(tasks)],
        "usage": {"bytes": manager.usage(user.username), "quota": manager.limits.user_quota},
    }
    if user.is_admin:
        data["disk"] = {"bytes": manager.usage(), "budget": manager.limits.disk_budget}
    return data


Everyone = Annotated[str, Query(alias="all", description='"1" or "true": every user\'s tasks (admins)')]


def _everyone(all_users: str, user: Principal) -> bool:
    return user.is_admin and all_users in ("1", "true")


@router.post("/api/downloads")
async def queue_download(request: Request, state: State, user: ActiveUser) -> Response:
    manager = await _manager(state)
    body = await read_json_object(request)
    source, vod_id, episode = body.get("source"), body.get("id"), body.get("episode", 0)
    if not isinstance(source, str) or not source or not isinstance(vod_id, str | int) or not str(vod_id):
        raise ServiceError(400, "缺少必要参数")
    if isinstance(episode, bool) or not isinstance(episode, int) or not 0 <= episode < 100_000:
        raise ServiceError(400, "集数无效")
    vod_id = str(vod_id)
    if len(source) > 128 or len(vod_id) > 64:
        raise ServiceError(400, "参数过长")
    snapshot = await state.config.get()
    site = find_site(snapshot.config, user, source)
    detail = await state.cms.detail(site, vod_id, timeout=state.settings.upstream_timeout)
    episodes = detail.get("episodes") if detail else None
    if not isinstance(episodes, list) or not episodes:
        raise ServiceError(404, "未找到该视频")
    if episode >= len(episodes) or not isinstance(episodes[episode], str):
        raise ServiceError(400, "集数超出范围")
    titles = detail.get("episodes_titles") if detail else None
    episode_title = titles[episode] if isinstance(titles, list) and episode < len(titles) else ""
    task = await manager.create(
        user.username,
        source=source,
        vod_id=vod_id,
        episode=episode,
        title=str((detail or {}).get("title") or "")[:MAX_TEXT],
        episode_title=str(episode_title or f"第{episode + 1}集")[:MAX_TEXT],
        url=episodes[episode],
    )
    return json_response(task.public(), 201)


@router.get("/api/downloads")
async def list_downloads(state: State, user: ActiveUser, all_users: Everyone = "") -> Response:
    return json_response(_listing(await _manager(state), user, _everyone(all_users, user)), headers=NO_STORE)


@router.get("/api/downloads/events")
async def download_events(
    request: Request, state: State, user: ActiveUser, all_users: Everyone = ""
) -> Response:
    manager = await _manager(state)
    everyone = _everyone(all_users, user)
    if "text/event-stream" not in request.headers.get("accept", ""):
        # not an EventSource: one snapshot instead of a stream that never ends
        return json_response(_listing(manager, user, everyone), headers=NO_STORE)

    async def events() -> AsyncIterator[bytes]:
        version = -1
        last = b""
        while not state.shutting_down:
            if version != manager.version:
                version = manager.version
                payload = orjson.dumps(_listing(manager, user, everyone))
                if payload != last:
                    last = payload
                    yield b"data: " + payload + b"\n\n"
                await asyncio.sleep(SSE_MIN_INTERVAL)  # at most two updates a second
            elif await manager.wait_change(version, SSE_HEARTBEAT) == version:
                yield b": keep-alive\n\n"
            if await request.is_disconnected():
                break

    headers = {**NO_STORE, "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


@router.delete("/api/downloads/{task_id}")
async def cancel_download(task_id: str, state: State, user: ActiveUser) -> Response:
    manager = await _manager(state)
    task = manager.get(task_id, user.username, admin=user.is_admin) if valid_id(task_id) else None
    if task is None:
        raise ServiceError(404, "下载任务不存在")
    await manager.cancel(task)
    return json_response({"success": True})


@router.get("/api/downloads/{task_id}/file")
async def download_file(task_id: str, state: State, user: ActiveUser) -> Response:
    manager = await _manager(state)
    task = manager.get(task_id, user.username, admin=False) if valid_id(task_id) else None
    if task is None or task.status != DONE:
        raise ServiceError(404, "文件不存在")
    path = manager.store.output_path(task)
    if not path.is_file():
        raise ServiceError(404, "文件不存在")
    media_type = "video/mp2t" if task.container == "ts" else "video/mp4"
    return FileResponse(
        path,
        media_type=media_type,
        filename=task.file_name,
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )
