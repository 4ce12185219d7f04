"""The play page's in-browser downloader on an ffmpeg-made AES-128 stream with a mid-roll ad: the playlist
and key come through our proxy (ads removed), segments too when the CDN has no CORS (the encrypted
segments are relayed opaque), are decrypted with WebCrypto, kept in
IndexedDB across a pause and a reload, and saved as MPEG-TS (byte-identical to the programme) or as MP4
transmuxed by mux.js (the programme's duration and frame count, no ad frames), through a Blob, the save
worker's stream or a file picker, all three giving the same bytes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.downloads.conftest import EXPECTED_FRAMES, _encrypted_copy, probe, red_frames
from tests.fakes.fake_cms import FakeCms, make_item
from tests.streams.hls_fixtures import PROGRAMME_SECONDS, build
from tests.streams.upstream import Upstream
from tests.support import LiveServer, settings_for, write_config
from tests.ui.a11y import axe_violations
from tests.ui.conftest import ARTIFACTS, DESKTOP, PHONE, login

TITLE = "下载测试"
NO_PICKER = "Object.defineProperty(window, 'showSaveFilePicker', { value: undefined, configurable: true })"
# a File System Access API stand-in that keeps what is written
FAKE_PICKER = """() => {
  window.__picked = { chunks: [], writes: 0, closed: false };
  const writable = {
    write: async (chunk) => {
      window.__picked.chunks.push(new Uint8Array(chunk));
      window.__picked.writes += 1;
    },
    close: async () => { window.__picked.closed = true; },
    abort: async () => {},
  };
  Object.defineProperty(window, 'showSaveFilePicker', {
    value: async () => ({ createWritable: async () => writable }), configurable: true });
}"""
PICKED_BASE64 = """async () => {
  const blob = new Blob(window.__picked.chunks);
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}"""
# remembers the address of every frame the page opens (the save worker's one-use download addresses)
FRAME_LOG = """window.__frames = [];
new MutationObserver((records) => { for (const r of records) for (const n of r.addedNodes)
  if (n.tagName === 'IFRAME') window.__frames.push(n.getAttribute('src')); })
  .observe(document, { childList: true, subtree: true });"""


@pytest.fixture(scope="module")
def aes_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = build(tmp_path_factory.mktemp("bdl-hls"))
    _encrypted_copy(root)
    return root


@pytest.fixture
def app(
    tmp_path: Path, aes_media: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[LiveServer, Upstream]]:
    """The app and the CDN; ``indirect`` param "no-cors": the CDN sends no CORS headers and the source
    routes segments through the signed segment proxy (``proxySegments``)."""
    cors = getattr(request, "param", "cors") == "cors"
    with Upstream(aes_media, cors=cors) as cdn:
        cms = FakeCms([make_item(1, TITLE, groups=[("m3u8", [("第1集", f"{cdn.url}/aesmid.m3u8")])])]).start()
        config = write_config(tmp_path / "config.json", {"dl": cms.base_url})
        if not cors:
            data = json.loads(config.read_text(encoding="utf-8"))
            data["api_site"]["dl"]["proxySegments"] = True
            config.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        server = LiveServer(settings_for(tmp_path)).start()
        try:
            yield server, cdn
        finally:
            server.stop()
            cms.stop()


def programme(media: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted((media / "clean").glob("seg*.ts")))


def open_tab(page: Any, base: str) -> None:
    page.goto(f"{base}/play?source=dl&id=1&title={quote(TITLE)}")
    page.wait_for_function("() => document.getElementById('player').currentTime > 0.3", timeout=60_000)
    page.click("#tab-downloads")


def save(page: Any, item: Any, target: Path) -> Path:
    with page.expect_download(timeout=60_000) as info:
        item.locator('button[data-act="save"]').click()
    info.value.save_as(target)
    return target


def assert_accessible(page: Any) -> None:
    blocking = [f"{v.rule}: {v.help} {v.nodes[:2]}" for v in axe_violations(page) if v.blocking]
    assert not blocking, blocking


def percent(item: Any) -> int:
    return int(item.locator('[role="progressbar"]').get_attribute("aria-valuenow") or 0)


@pytest.mark.parametrize("app", ["no-cors"], indirect=True)
def test_ts_download_pauses_survives_reload_and_matches_the_programme(
    app: tuple[LiveServer, Upstream], aes_media: Path, new_page: Any, tmp_path: Path
) -> None:
    server, cdn = app
    page = new_page(
        viewport=PHONE, bypass_csp=True
    )  # for axe-core's inline script; the MP4 test keeps the CSP
    page.add_init_script(NO_PICKER)
    login(page, server.url)
    open_tab(page, server.url)
    for segment in (aes_media / "aes").glob("*.ts"):
        cdn.delays[f"/aes/{segment.name}"] = 0.5
    # the player has buffered the whole (20 s) episode: forget its cached segments so the download
    # really goes to the (slowed) CDN and can be paused half-way
    page.context.new_cdp_session(page).send("Network.clearBrowserCache")
    page.fill("#bdl-concurrency", "1")
    page.click("#browser-download-start")
    item = page.locator("#browser-download-list .download-item").first
    page.wait_for_function(
        "() => Number(document.querySelector('#browser-download-list [role=progressbar]')"
        "?.getAttribute('aria-valuenow')) > 0",
        timeout=60_000,
    )
    item.locator('button[data-act="pause"]').click()
    paused = page.locator('#browser-download-list .download-item[data-status="paused"]')
    paused.wait_for(timeout=30_000)
    at_pause = percent(paused)
    assert 0 < at_pause < 100

    page.reload()
    page.click("#tab-downloads")
    paused.wait_for(timeout=30_000)
    assert percent(paused) == at_pause  # the list and the finished segments came back from IndexedDB
    cdn.delays.clear()
    paused.locator('button[data-act="resume"]').click()
    done = page.locator('#browser-download-list .download-item[data-status="done"]')
    done.wait_for(timeout=90_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "play-browser-download-390x844.png"), full_page=True)
    assert_accessible(page)  # the tab with its form and a finished task

    saved = save(page, done, tmp_path / "episode.ts")
    assert saved.read_bytes() == programme(aes_media)  # decrypted, in order, ad segments never fetched
    assert done.get_attribute("data-bytes") == str(saved.stat().st_size)
    info = probe(saved)
    assert abs(info["duration"] - PROGRAMME_SECONDS) < 0.3
    assert red_frames(saved) == 0


def test_mp4_download_is_transmuxed_in_the_browser(
    app: tuple[LiveServer, Upstream], aes_media: Path, new_page: Any, tmp_path: Path
) -> None:
    server, _cdn = app
    page = new_page(viewport=DESKTOP)
    page.add_init_script(NO_PICKER)
    login(page, server.url)
    open_tab(page, server.url)
    page.select_option("#bdl-format", "mp4")
    page.fill("#bdl-concurrency", "16")
    page.click("#browser-download-start")
    done = page.locator('#browser-download-list .download-item[data-status="done"]')
    done.wait_for(timeout=90_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "play-browser-download-1440x900.png"), full_page=True)
    saved = save(page, done, tmp_path / "episode.mp4")
    assert saved.read_bytes()[4:8] == b"ftyp"
    info = probe(saved)
    assert abs(info["frames"] - EXPECTED_FRAMES) <= 1
    # mux.js writes "unknown" header durations; the saved file's header carries the programme's duration
    assert abs(info["duration"] - PROGRAMME_SECONDS) <= 0.1, info
    assert red_frames(saved) == 0


def test_segment_range_and_skip_config_trim_the_download(
    app: tuple[LiveServer, Upstream], aes_media: Path, new_page: Any, tmp_path: Path
) -> None:
    server, _cdn = app
    client = server.login()
    key = "dl+1"
    response = client.post(
        "/api/skipconfigs", json={"key": key, "config": {"enable": True, "intro_time": 4, "outro_time": -4}}
    )
    assert response.status_code == 200, response.text
    page = new_page(viewport=DESKTOP)
    page.add_init_script(NO_PICKER)
    login(page, server.url)
    open_tab(page, server.url)
    page.check("#bdl-skip")
    page.click("#browser-download-start")
    done = page.locator('#browser-download-list .download-item[data-status="done"]')
    done.wait_for(timeout=90_000)
    saved = save(page, done, tmp_path / "trimmed.ts")
    segments = sorted((aes_media / "clean").glob("seg*.ts"))
    # 2 s segments: 4 s of intro and 4 s of outro are two segments each
    assert saved.read_bytes() == b"".join(p.read_bytes() for p in segments[2:-2])

    page.click('#browser-download-list button[data-act="delete"]')
    page.uncheck("#bdl-skip")
    page.fill("#bdl-from", "2")
    page.fill("#bdl-to", "3")
    page.click("#browser-download-start")
    done.wait_for(timeout=90_000)
    ranged = save(page, done, tmp_path / "ranged.ts")
    assert ranged.read_bytes() == b"".join(p.read_bytes() for p in segments[1:3])


@pytest.mark.parametrize("fmt", ["mp4", "ts"])
def test_worker_stream_and_file_picker_save_the_same_bytes_as_a_blob(
    app: tuple[LiveServer, Upstream], aes_media: Path, new_page: Any, tmp_path: Path, fmt: str
) -> None:
    server, _cdn = app
    worker = server.client().get("/download-stream/sw.js")
    assert worker.status_code == 200 and "javascript" in worker.headers["content-type"]
    assert worker.headers["x-content-type-options"] == "nosniff"
    assert "service-worker-allowed" not in worker.headers  # its own folder is its scope
    page = new_page(viewport=DESKTOP, service_workers="allow")
    page.add_init_script(NO_PICKER)
    page.add_init_script(FRAME_LOG)
    login(page, server.url)
    open_tab(page, server.url)
    page.select_option("#bdl-format", fmt)
    page.click("#browser-download-start")
    done = page.locator('#browser-download-list .download-item[data-status="done"]')
    done.wait_for(timeout=90_000)
    # no file picker and a small file: the automatic choice is a Blob, and the row says so
    assert done.get_attribute("data-save") == "blob"
    page.select_option("#bdl-save", "stream")
    page.wait_for_function(
        "() => document.querySelector('#browser-download-list .download-item')?.dataset.save === 'stream'"
    )
    streamed = save(page, done, tmp_path / f"streamed.{fmt}")
    page.wait_for_function(
        "() => document.querySelector('#browser-download-list .download-item')?.dataset.saved"
    )
    assert done.get_attribute("data-saved") == "stream"  # saved through the worker, not a fallback
    assert done.get_attribute("data-bytes") == str(streamed.stat().st_size)
    scope = page.evaluate(
        "() => navigator.serviceWorker.getRegistration('/download-stream/').then((r) => r && r.scope)"
    )
    assert scope == f"{server.url}/download-stream/"
    page.select_option("#bdl-save", "blob")
    blob = save(page, done, tmp_path / f"blob.{fmt}")
    page.wait_for_function(
        "() => document.querySelector('#browser-download-list .download-item')?.dataset.saved === 'blob'"
    )
    assert streamed.read_bytes() == blob.read_bytes()
    if fmt == "ts":
        assert streamed.read_bytes() == programme(aes_media)
    else:
        assert abs(probe(streamed)["duration"] - PROGRAMME_SECONDS) <= 0.1

    # with a file picker, the automatic choice writes to the picked file chunk by chunk: the same bytes
    page.evaluate(FAKE_PICKER)
    page.select_option("#bdl-save", "auto")
    page.wait_for_function(
        "() => document.querySelector('#browser-download-list .download-item')?.dataset.save === 'picker'"
    )
    done.locator('button[data-act="save"]').click()
    page.wait_for_function("() => window.__picked && window.__picked.closed", timeout=60_000)
    picked = base64.b64decode(page.evaluate(PICKED_BASE64))
    assert page.evaluate("() => window.__picked.writes") > 1  # streamed, not one big Blob
    assert picked == blob.read_bytes()

    # the worker serves only what a page registered, once: a used address and a made-up one are 404s
    frames = page.evaluate("() => window.__frames")
    used = [src for src in frames if src.startswith("/download-stream/")]
    assert len(used) == 1, frames
    other = page.context.new_page()  # the same browser profile, where the worker is registered
    for path in (used[0], "/download-stream/AAAAAAAAAAAAAAAAAAAAAA/x.ts", "/download-stream/sw.jsx"):
        response = other.goto(f"{server.url}{path}")
        assert response is not None and response.status == 404, path
        assert response.from_service_worker, path
