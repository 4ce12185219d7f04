"""Synthetic MPEG-TS segment prefixes (PAT, PMT, a video PES with a chosen PTS and an H.264 SPS of a
chosen size) and generated playlists, for classifier tests and the ad-analysis benchmark."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

PMT_PID = 0x1000
VIDEO_PID = 0x100


class _BitWriter:
    def __init__(self) -> None:
        self.bits: list[int] = []

    def u(self, n: int, value: int) -> None:
        self.bits.extend((value >> (n - 1 - i)) & 1 for i in range(n))

    def ue(self, value: int) -> None:
        value += 1
        length = value.bit_length()
        self.u(length - 1, 0)
        self.u(length, value)

    def rbsp(self) -> bytes:
        self.bits.append(1)
        while len(self.bits) % 8:
            self.bits.append(0)
        out = bytes(int("".join(map(str, self.bits[i : i + 8])), 2) for i in range(0, len(self.bits), 8))
        escaped = bytearray()
        zeros = 0
        for byte in out:
            if zeros >= 2 and byte <= 3:
                escaped.append(3)
                zeros = 0
            escaped.append(byte)
            zeros = zeros + 1 if byte == 0 else 0
        return bytes(escaped)


def h264_sps(width: int, height: int) -> bytes:
    """A Main-profile SPS NAL (with its header byte) for a 4:2:0 progressive picture."""
    w = _BitWriter()
    w.u(8, 77)
    w.u(8, 0)
    w.u(8, 30)
    w.ue(0)  # sps id
    w.ue(0)  # log2_max_frame_num_minus4
    w.ue(0)  # pic_order_cnt_type
    w.ue(0)  # log2_max_pic_order_cnt_lsb_minus4
    w.ue(1)  # max_num_ref_frames
    w.u(1, 0)
    mbs_w, mbs_h = (width + 15) // 16, (height + 15) // 16
    w.ue(mbs_w - 1)
    w.ue(mbs_h - 1)
    w.u(1, 1)  # frame_mbs_only
    w.u(1, 1)  # direct_8x8_inference
    crop_r, crop_b = (mbs_w * 16 - width) // 2, (mbs_h * 16 - height) // 2
    if crop_r or crop_b:
        w.u(1, 1)
        for value in (0, crop_r, 0, crop_b):
            w.ue(value)
    else:
        w.u(1, 0)
    w.u(1, 0)  # vui
    return b"\x67" + w.rbsp()


def _section(table_id: int, body: bytes, extension: int) -> bytes:
    length = 5 + len(body) + 4
    head = bytes(
        [table_id, 0xB0 | (length >> 8), length & 0xFF, extension >> 8, extension & 0xFF, 0xC1, 0, 0]
    )
    crc = zlib.crc32(head + body) & 0xFFFFFFFF  # not MPEG's CRC; readers here do not check it
    return head + body + crc.to_bytes(4, "big")


def _packet(pid: int, payload: bytes, *, pusi: bool, counter: int) -> bytes:
    header = bytes([0x47, (0x40 if pusi else 0) | (pid >> 8), pid & 0xFF, 0x10 | (counter & 0x0F)])
    if len(payload) < 184:
        stuffing = 184 - len(payload)
        if stuffing == 1:
            header = header[:3] + bytes([0x30 | (counter & 0x0F)]) + b"\x00"
        else:
            header = (
                header[:3]
                + bytes([0x30 | (counter & 0x0F)])
                + bytes([stuffing - 1, 0])
                + b"\xff" * (stuffing - 2)
            )
    return header + payload[:184]


def _pts_bytes(ticks: int) -> bytes:
    ticks %= 1 << 33
    return bytes(
        [
            0x21 | ((ticks >> 29) & 0x0E),
            (ticks >> 22) & 0xFF,
            0x01 | ((ticks >> 14) & 0xFE),
            (ticks >> 7) & 0xFF,
            0x01 | ((ticks << 1) & 0xFE),
        ]
    )


def ts_prefix(pts_seconds: float, width: int = 640, height: int = 360) -> bytes:
    """PAT + PMT + the first packet of a video PES (PTS, AUD, SPS) + padding packets: 5 packets."""
    pat = _section(0x00, bytes([0, 1, 0xE0 | (PMT_PID >> 8), PMT_PID & 0xFF]), 1)
    pmt_body = bytes([0xE0 | (VIDEO_PID >> 8), VIDEO_PID & 0xFF, 0xF0, 0])
    pmt_body += bytes([0x1B, 0xE0 | (VIDEO_PID >> 8), VIDEO_PID & 0xFF, 0xF0, 0])
    pmt = _section(0x02, pmt_body, 1)
    es = (
        b"\x00\x00\x00\x01\x09\xf0"
        + b"\x00\x00\x00\x01"
        + h264_sps(width, height)
        + b"\x00\x00\x00\x01\x68\xce\x38\x80"
    )
    pes = b"\x00\x00\x01\xe0\x00\x00\x80\x80\x05" + _pts_bytes(round(pts_seconds * 90000)) + es
    packets = [
        _packet(0, b"\x00" + pat, pusi=True, counter=0),
        _packet(PMT_PID, b"\x00" + pmt, pusi=True, counter=0),
        _packet(VIDEO_PID, pes, pusi=True, counter=0),
        _packet(0x1FFF, b"", pusi=False, counter=0),
    ]
    return b"".join(packets)


@dataclass(frozen=True)
class Spec:
    """One discontinuity block of a generated playlist."""

    folder: str  # path (and host) prefix, e.g. "https://cdn.example/show" or "https://ads.example/a"
    count: int
    seg: float = 4.0
    pts: float = 10.0  # first PTS of the block
    width: int = 640
    height: int = 360
    fail: bool = False  # probes of this block fail (HTTP error)


def generate(specs: list[Spec], *, endlist: bool = True) -> tuple[str, dict[str, tuple[bytes | None]]]:
    """(playlist text, url -> (prefix bytes or None for a failing URL)). Segment names are unique."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{int(max(s.seg for s in specs)) + 1}"]
    if endlist:
        lines.append("#EXT-X-PLAYLIST-TYPE:VOD")
    media: dict[str, tuple[bytes | None]] = {}
    counter = 0
    for n, spec in enumerate(specs):
        if n:
            lines.append("#EXT-X-DISCONTINUITY")
        for k in range(spec.count):
            url = f"{spec.folder}/s{counter:05d}.ts"
            counter += 1
            lines.append(f"#EXTINF:{spec.seg:.3f},")
            lines.append(url)
            media[url] = (None if spec.fail else ts_prefix(spec.pts + k * spec.seg, spec.width, spec.height),)
    if endlist:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n", media
