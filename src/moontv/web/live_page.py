"""The ``/live`` page (templates/live.html + static/live.js) and its strings."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from moontv.live.access import available_lives, web_live_enabled
from moontv.web.deps import OptionalUser, State
from moontv.web.pages import CATALOG, _guard, asset, render, request_lang

router = APIRouter()

STRINGS = {
    "zh-CN": {
        "nav_live": "直播",
        "live_title": "电视直播",
        "live_channels": "频道",
        "live_groups": "频道分组",
        "live_source": "直播源",
        "live_search_placeholder": "搜索频道",
        "live_all": "全部",
        "live_favorites": "收藏",
        "live_no_favorites": "还没有收藏的频道",
        "live_no_channels": "没有匹配的频道",
        "live_no_sources": "管理员还没有添加直播源",
        "live_source_failed": "直播源加载失败",
        "live_tv_only": "该频道的地址只能在电视应用中播放",
        "live_tv_only_short": "TV",
        "live_pick_channel": "选择一个频道",
        "live_line": "线路 {n}/{total}",
        "live_connecting": "正在连接…",
        "live_reconnecting": "正在重新连接…",
        "live_buffering": "缓冲中…",
        "live_tap_to_play": "点击播放",
        "live_unsupported": "此浏览器不支持 HLS 直播",
        "live_switching_line": "线路不可用，已切换到线路 {n}",
        "live_failed": "该频道暂时无法播放",
        "live_no_guide": "暂无节目单",
        "live_today": "今天",
        "live_now": "正在播出",
        "live_next": "即将播出",
        "live_guide": "节目单",
        "live_disabled": "网页直播已被管理员关闭",
    },
    "en": {
        "nav_live": "Live",
        "live_title": "Live TV",
        "live_channels": "Channels",
        "live_groups": "Channel groups",
        "live_source": "Source",
        "live_search_placeholder": "Search channels",
        "live_all": "All",
        "live_favorites": "Favorites",
        "live_no_favorites": "No favorite channels yet",
        "live_no_channels": "No matching channels",
        "live_no_sources": "No live sources have been added yet",
        "live_source_failed": "Could not load the live source",
        "live_tv_only": "This channel's streams only play in the TV apps",
        "live_tv_only_short": "TV",
        "live_pick_channel": "Pick a channel",
        "live_line": "Line {n}/{total}",
        "live_connecting": "Connecting…",
        "live_reconnecting": "Reconnecting…",
        "live_buffering": "Buffering…",
        "live_tap_to_play": "Tap to play",
        "live_unsupported": "This browser cannot play HLS live streams",
        "live_switching_line": "Line unavailable, switched to line {n}",
        "live_failed": "This channel cannot be played right now",
        "live_no_guide": "No programme guide",
        "live_today": "Today",
        "live_now": "Now",
        "live_next": "Next",
        "live_guide": "Programme guide",
        "live_disabled": "Live TV in the browser has been turned off by the admin",
    },
}
for _lang, _strings in STRINGS.items():
    CATALOG[_lang].update(_strings)


@router.get("/live")
async def live_page(request: Request, state: State, user: OptionalUser) -> Response:
    if (redirect := _guard(request, state, user)) is not None:
        return redirect
    assert user is not None
    config = (await state.config.get()).config
    lang = request_lang(request)
    if not web_live_enabled(config):
        return await render(
            request,
            "message.html",
            403,
            heading=STRINGS[lang]["live_title"],
            message=STRINGS[lang]["live_disabled"],
        )
    sources = [{"key": s.key, "name": s.name} for s in available_lives(config, user.username)]
    qp = request.query_params
    return await render(
        request,
        "live.html",
        nav="live",
        boot={
            "sources": sources,
            "source": (qp.get("source") or "")[:128],
            "channel": (qp.get("channel") or "")[:32],
            "hlsWorker": asset("vendor/hls.worker.js"),
        },
    )
