"""Block classification on generated playlists (synthetic TS prefixes with chosen PTS and sizes)."""

from __future__ import annotations

import asyncio

import pytest

from moontv.streams.ads import MAX_BLOCKS, Prober, analyse, continues, split_blocks
from moontv.streams.media import PTS_WRAP
from moontv.streams.playlist import parse
from tests.streams.synth import Spec, generate

SHOW = "https://cdn.example.com/show/ep1"
ADS = "https://ads.example.net/creative"


async def run(specs: list[Spec], *, endlist: bool = True, hang: bool = False, deadline: float = 5.0):  # type: ignore[no-untyped-def]
    text, media = generate(specs, endlist=endlist)
    calls: list[str] = []

    async def fetch(url: str, offset: int, length: int) -> bytes:
        calls.append(url)
        if hang:
            await asyncio.sleep(60)
        data = media[url][0]
        if data is None:
            raise OSError("HTTP 404")
        return data[offset : offset + length]

    decision = await analyse(parse(text, SHOW + "/index.m3u8"), Prober(fetch), deadline=deadline)
    return decision, calls


def verdicts(decision) -> list[str]:  # type: ignore[no-untyped-def]
    return [b.verdict for b in decision.blocks]


async def test_single_block_needs_no_probe() -> None:
    decision, calls = await run([Spec(SHOW, 10)])
    assert decision.status == "no-discontinuity" and not decision.remove and calls == []


@pytest.mark.parametrize("ad_pts", [10.0, 0.0, 500.0, 86000.0])
async def test_mid_roll_with_foreign_timeline_is_removed(ad_pts: float) -> None:
    decision, _ = await run([Spec(SHOW, 5, pts=10), Spec(ADS, 3, seg=5, pts=ad_pts), Spec(SHOW, 20, pts=30)])
    assert verdicts(decision) == ["programme", "ad", "programme"]
    assert decision.status == "removed" and decision.removed_seconds == pytest.approx(15.0)
    assert decision.remove == frozenset({5, 6, 7})
    assert any("continues across" in e for e in decision.blocks[1].evidence)


async def test_mid_roll_from_the_same_folder_is_still_removed_on_timeline_evidence() -> None:
    decision, _ = await run([Spec(SHOW, 5, pts=10), Spec(SHOW, 2, pts=0), Spec(SHOW, 20, pts=30)])
    assert verdicts(decision) == ["programme", "ad", "programme"]


async def test_harmless_discontinuity_is_kept() -> None:
    decision, _ = await run([Spec(SHOW, 5, pts=10), Spec(SHOW, 20, pts=30)])
    assert decision.status == "kept" and not decision.remove
    assert verdicts(decision) == ["programme", "programme"]


async def test_harmless_discontinuity_with_a_timestamp_jump_is_kept() -> None:
    """Two long parts whose clocks do not line up: nothing says which is an ad, so nothing goes."""
    decision, _ = await run([Spec(SHOW, 150, pts=10), Spec(SHOW, 150, pts=0)])
    assert decision.status == "kept" and not decision.remove


async def test_stream_that_restarts_its_clock_every_block_fails_open() -> None:
    decision, _ = await run([Spec(SHOW, 3, pts=0) for _ in range(12)])
    assert decision.status == "kept" and not decision.remove
    assert "half" in decision.reason


async def test_preroll_needs_corroboration() -> None:
    # different host: removed
    decision, _ = await run([Spec(ADS, 3, seg=5, pts=0), Spec(SHOW, 30, pts=10)])
    assert verdicts(decision) == ["ad", "programme"]
    assert "different host or directory" in decision.blocks[0].evidence
    # same folder, same size, same segment length: nothing corroborates the timeline break -> kept
    decision, _ = await run([Spec(SHOW, 3, pts=0), Spec(SHOW, 30, pts=10)])
    assert verdicts(decision) == ["keep", "programme"]
    assert "no corroborating evidence" in decision.blocks[0].evidence
    # same folder but another resolution: removed
    decision, _ = await run([Spec(SHOW, 3, pts=0, width=1280, height=720), Spec(SHOW, 30, pts=10)])
    assert verdicts(decision) == ["ad", "programme"]
    # same folder but a different segment length pattern: removed
    decision, _ = await run([Spec(SHOW, 8, seg=1, pts=0), Spec(SHOW, 30, pts=10)])
    assert verdicts(decision) == ["ad", "programme"]
    # ad-like path: removed
    decision, _ = await run([Spec(SHOW + "/adjump", 3, pts=0), Spec(SHOW, 30, pts=10)])
    assert verdicts(decision) == ["ad", "programme"]


async def test_preroll_whose_clock_leads_into_the_programme_is_programme() -> None:
    decision, _ = await run([Spec(ADS, 2, pts=2), Spec(SHOW, 30, pts=10)])
    assert verdicts(decision) == ["programme", "programme"] and not decision.remove


async def test_postroll_and_long_edges() -> None:
    decision, _ = await run([Spec(SHOW, 30, pts=10), Spec(ADS, 3, seg=5, pts=0)])
    assert verdicts(decision) == ["programme", "ad"]
    # an edge block too long to be an ad stays even from another host
    decision, _ = await run([Spec(SHOW, 100, pts=10), Spec(ADS, 40, pts=0)])
    assert verdicts(decision) == ["programme", "keep"]


async def test_failed_probe_of_the_suspect_block_fails_open() -> None:
    decision, _ = await run([Spec(SHOW, 5, pts=10), Spec(ADS, 3, pts=0, fail=True), Spec(SHOW, 20, pts=30)])
    assert not decision.remove
    assert decision.blocks[1].probe_error and "probe failed" in decision.blocks[1].evidence[0]


async def test_failed_probe_of_an_anchor_fails_open() -> None:
    decision, _ = await run([Spec(SHOW, 5, pts=10, fail=True), Spec(ADS, 3, pts=0), Spec(SHOW, 20, pts=30)])
    assert not decision.remove


async def test_overlong_bracketed_block_is_kept() -> None:
    decision, _ = await run([Spec(SHOW, 200, pts=10), Spec(ADS, 100, pts=0), Spec(SHOW, 400, pts=810)])
    assert verdicts(decision) == ["programme", "keep", "programme"]
    assert any("too long" in e for e in decision.blocks[1].evidence)


async def test_programme_across_the_33_bit_pts_wrap() -> None:
    wrap = PTS_WRAP / 90000
    start = wrap - 12.0  # the first block ends right at the wrap; the programme continues from 0
    decision, _ = await run([Spec(SHOW, 3, pts=start), Spec(ADS, 2, pts=5), Spec(SHOW, 20, pts=0.0)])
    assert verdicts(decision) == ["programme", "ad", "programme"]


async def test_one_hour_playlist_with_several_breaks() -> None:
    specs = [Spec(ADS, 3, seg=5, pts=0)]
    pts = 10.0
    for part in range(6):
        specs.append(Spec(SHOW, 150, pts=pts))
        pts += 600
        if part < 5:
            specs.append(Spec(f"{ADS}{part}", 4, seg=5, pts=0))
    decision, calls = await run(specs)
    assert decision.status == "removed"
    assert len(decision.removed_blocks) == 6
    assert decision.removed_seconds == pytest.approx(15 + 5 * 20)
    assert len(calls) == 2 * len(specs)  # first and last segment of every block, nothing else


async def test_live_playlists_are_not_analysed() -> None:
    decision, calls = await run([Spec(SHOW, 5), Spec(ADS, 2, pts=0), Spec(SHOW, 5, pts=30)], endlist=False)
    assert decision.status == "skipped" and calls == []


async def test_too_many_blocks_are_not_analysed() -> None:
    decision, calls = await run([Spec(SHOW, 1, pts=10 + 4 * n) for n in range(MAX_BLOCKS + 1)])
    assert decision.status == "skipped" and calls == [] and not decision.remove


async def test_probe_deadline_fails_open() -> None:
    decision, _ = await run(
        [Spec(SHOW, 5), Spec(ADS, 2, pts=0), Spec(SHOW, 5, pts=30)], hang=True, deadline=0.2
    )
    assert not decision.remove and decision.status == "kept"
    assert all(b.probe_error for b in decision.blocks)


async def test_encrypted_segments_without_a_decryptor_fail_open() -> None:
    text, media = generate([Spec(SHOW, 5), Spec(ADS, 2, pts=0), Spec(SHOW, 5, pts=30)])
    text = text.replace(
        "#EXT-X-PLAYLIST-TYPE:VOD", '#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-KEY:METHOD=AES-128,URI="k"'
    )

    async def fetch(url: str, offset: int, length: int) -> bytes:
        return media[url][0] or b""

    decision = await analyse(parse(text, SHOW + "/i.m3u8"), Prober(fetch))
    assert not decision.remove and all("encrypted" in (b.probe_error or "") for b in decision.blocks)


def test_continuity_tolerance_scales_with_segment_length() -> None:
    text, media = generate([Spec(SHOW, 2, seg=10, pts=0), Spec(SHOW, 2, seg=10, pts=22.4)])
    blocks = split_blocks(parse(text, SHOW + "/i.m3u8"))
    from moontv.streams.media import read_ts

    for block in blocks:
        block.first = read_ts(media[block.first_segment.uri][0] or b"")
        block.last = read_ts(media[block.last_segment.uri][0] or b"")
    assert continues(blocks[0], blocks[1])  # 2.4 s off with 10 s segments: within 25 %
    blocks[1].first.start = 26.0  # type: ignore[union-attr]
    assert not continues(blocks[0], blocks[1])
