"""Readers for the first bytes of HLS media: MPEG-TS PTS, fMP4 ``tfdt``, and the video size.

Everything here works on a short prefix of a segment (a few KiB read with an HTTP Range
request) and never raises on junk: a reader that cannot find what it needs returns ``None``
fields. Only what the ad detector and the speed test need is parsed:

- MPEG-TS: sync (also after a disguise header, e.g. a fake PNG prefix some CDNs add), PAT,
  PMT, the first PES header of every elementary stream (PTS in 90 kHz ticks), and the first
  H.264/H.265 SPS in the first video PES (coded size minus cropping).
- fMP4: the init segment's tracks (``tkhd`` id/size, ``mdhd`` timescale, ``hdlr`` kind) and a
  media segment's first ``moof/traf`` (``tfhd`` track id, ``tfdt`` base media decode time).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

TS_PACKET = 188
PTS_WRAP = 1 << 33
PTS_HZ = 90_000

VIDEO_STREAM_TYPES = {0x01: "mpeg1", 0x02: "mpeg2", 0x10: "mpeg4", 0x1B: "h264", 0x24: "hevc", 0x27: "hevc"}


@dataclass(slots=True)
class MediaInfo:
    """What a probe learnt about the start of one segment."""

    container: str = "unknown"  # "ts", "fmp4", "unknown"
    start: float | None = None  # seconds: first video PTS (TS) or first video tfdt (fMP4)
    start_ticks: int | None = None  # raw 90 kHz ticks (TS only; used for wrap-around maths)
    audio_start: float | None = None
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    track_id: int | None = None  # fMP4: the track the start time came from

    @property
    def resolution(self) -> str | None:
        return f"{self.width}x{self.height}" if self.width and self.height else None


# -- MPEG-TS ------------------------------------------------------------------------------------


def ts_sync_offset(data: bytes | memoryview, limit: int | None = None) -> int | None:
    """First offset where three consecutive 188-byte packets start with 0x47 (or two, at the end)."""
    raw = bytes(data) if isinstance(data, memoryview) else data
    end = len(raw) if limit is None else min(len(raw), limit)
    offset = -1
    while True:
        offset = raw.find(b"\x47", offset + 1, max(end - TS_PACKET, 0) + 1)
        if offset == -1:
            return None
        following = [offset + TS_PACKET * k for k in (1, 2) if offset + TS_PACKET * k < len(data)]
        if following and all(data[p] == 0x47 for p in following):
            return offset
        if not following and offset + TS_PACKET <= len(data):
            return offset


def _pts(b: bytes | memoryview) -> int | None:
    if len(b) < 5 or not (b[0] & 1 and b[2] & 1 and b[4] & 1):
        return None  # marker bits missing: not a PTS
    return ((b[0] >> 1) & 0x07) << 30 | b[1] << 22 | (b[2] >> 1) << 15 | b[3] << 7 | b[4] >> 1


def _section(payload: bytes | memoryview, pusi: bool) -> bytes | None:
    if not pusi or not payload:
        return None
    pointer = payload[0]
    start = 1 + pointer
    if start + 3 > len(payload):
        return None
    length = ((payload[start + 1] & 0x0F) << 8) | payload[start + 2]
    return bytes(payload[start : start + 3 + length])


def _pat_pmt_pids(section: bytes) -> list[int]:
    pids = []
    end = min(len(section), 3 + (((section[1] & 0x0F) << 8) | section[2])) - 4  # minus CRC
    for pos in range(8, end - 3, 4):
        program = (section[pos] << 8) | section[pos + 1]
        pid = ((section[pos + 2] & 0x1F) << 8) | section[pos + 3]
        if program != 0:
            pids.append(pid)
    return pids


def _pmt_streams(section: bytes) -> dict[int, int]:
    streams: dict[int, int] = {}
    if len(section) < 12:
        return streams
    end = min(len(section), 3 + (((section[1] & 0x0F) << 8) | section[2])) - 4
    pos = 12 + (((section[10] & 0x0F) << 8) | section[11])
    while pos + 5 <= end:
        stream_type = section[pos]
        pid = ((section[pos + 1] & 0x1F) << 8) | section[pos + 2]
        info_len = ((section[pos + 3] & 0x0F) << 8) | section[pos + 4]
        streams[pid] = stream_type
        pos += 5 + info_len
    return streams


def read_ts(data: bytes) -> MediaInfo:
    """First PTS of each stream, the video codec and size from a TS prefix."""
    info = MediaInfo()
    sync = ts_sync_offset(data, limit=min(len(data), 256 * 1024))
    if sync is None:
        return info
    info.container = "ts"
    pmt_pids: set[int] = set()
    streams: dict[int, int] = {}
    first_pts: dict[int, int] = {}
    stream_ids: dict[int, int] = {}
    video_pes: dict[int, bytearray] = {}
    closed: set[int] = set()
    view = memoryview(data)
    for pos in range(sync, len(data) - TS_PACKET + 1, TS_PACKET):
        packet = view[pos : pos + TS_PACKET]
        if packet[0] != 0x47:
            break  # lost sync: stop rather than guess
        pusi = bool(packet[1] & 0x40)
        pid = ((packet[1] & 0x1F) << 8) | packet[2]
        afc = (packet[3] >> 4) & 0x03
        if not afc & 1:
            continue
        start = 4
        if afc & 2:
            start += 1 + packet[4]
        if start >= TS_PACKET:
            continue
        payload = packet[start:]
        if pid == 0:
            section = _section(payload, pusi)
            if section and section[0] == 0x00:
                pmt_pids.update(_pat_pmt_pids(section))
            continue
        if pid in pmt_pids:
            section = _section(payload, pusi)
            if section and section[0] == 0x02:
                streams.update(_pmt_streams(section))
            continue
        if pid == 0x1FFF:
            continue
        if pusi and len(payload) >= 9 and payload[0] == 0 and payload[1] == 0 and payload[2] == 1:
            if pid in video_pes:
                closed.add(pid)
            stream_id = payload[3]
            flags = payload[7] >> 6
            header_len = payload[8]
            if pid not in first_pts and flags & 0x2:
                pts = _pts(payload[9:14])
                if pts is not None:
                    first_pts[pid] = pts
                    stream_ids[pid] = stream_id
            if pid not in video_pes and _is_video(pid, stream_id, streams):
                video_pes[pid] = bytearray(payload[9 + header_len :])
            continue
        if pid in video_pes and pid not in closed and len(video_pes[pid]) < 64 * 1024:
            video_pes[pid].extend(payload)
    video_pids = [p for p in first_pts if _is_video(p, stream_ids.get(p, 0), streams)]
    audio_pids = [p for p in first_pts if p not in video_pids]
    chosen = (
        video_pids[0] if video_pids else (min(first_pts, key=lambda p: first_pts[p]) if first_pts else None)
    )
    if chosen is not None:
        info.start_ticks = first_pts[chosen]
        info.start = first_pts[chosen] / PTS_HZ
    if audio_pids:
        info.audio_start = first_pts[audio_pids[0]] / PTS_HZ
    for pid, payload in video_pes.items():
        stream_type = streams.get(pid)
        codec = VIDEO_STREAM_TYPES.get(stream_type, "") if stream_type is not None else ""
        size = sps_size(bytes(payload), codec or None)
        if size is not None:
            info.codec, info.width, info.height = size
            break
        if codec and info.codec is None:
            info.codec = codec
    return info


def _is_video(pid: int, stream_id: int, streams: dict[int, int]) -> bool:
    if pid in streams:
        return streams[pid] in VIDEO_STREAM_TYPES
    return 0xE0 <= stream_id <= 0xEF


# -- H.264 / H.265 SPS ------------------------------------------------------------------------------


class _Bits:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def u(self, n: int) -> int:
        value = 0
        for _ in range(n):
            byte = self.pos >> 3
            if byte >= len(self.data):
                raise ValueError("out of bits")
            value = (value << 1) | ((self.data[byte] >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad exp-golomb")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        value = self.ue()
        return (value + 1) // 2 if value & 1 else -(value // 2)


def _unescape(nal: bytes) -> bytes:
    return nal.replace(b"\x00\x00\x03", b"\x00\x00")


def _nal_units(data: bytes) -> list[bytes]:
    units = []
    pos = data.find(b"\x00\x00\x01")
    while pos != -1:
        start = pos + 3
        nxt = data.find(b"\x00\x00\x01", start)
        end = nxt if nxt != -1 else len(data)
        unit = data[start:end]
        units.append(unit.rstrip(b"\x00") if nxt != -1 else unit)
        pos = nxt
    return units


def sps_size(es: bytes, codec: str | None) -> tuple[str, int, int] | None:
    """(codec, width, height) from the first SPS in an Annex-B elementary stream prefix."""
    for unit in _nal_units(es):
        if not unit:
            continue
        try:
            if codec in (None, "h264") and unit[0] & 0x1F == 7 and not unit[0] & 0x80:
                w, h = _h264_sps(_unescape(unit[1:]))
                return "h264", w, h
            if codec in (None, "hevc") and len(unit) > 2 and (unit[0] >> 1) & 0x3F == 33:
                w, h = _hevc_sps(_unescape(unit[2:]))
                return "hevc", w, h
        except (ValueError, IndexError):
            continue
    return None


_HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}


def _h264_sps(rbsp: bytes) -> tuple[int, int]:
    bits = _Bits(rbsp)
    profile = bits.u(8)
    bits.u(16)  # constraint flags, level
    bits.ue()  # seq_parameter_set_id
    chroma = 1
    separate = 0
    if profile in _HIGH_PROFILES:
        chroma = bits.ue()
        if chroma == 3:
            separate = bits.u(1)
        bits.ue()
        bits.ue()
        bits.u(1)
        if bits.u(1):  # seq_scaling_matrix_present_flag
            for i in range(12 if chroma == 3 else 8):
                if bits.u(1):
                    size = 16 if i < 6 else 64
                    last = nxt = 8
                    for _ in range(size):
                        if nxt != 0:
                            nxt = (last + bits.se() + 256) % 256
                        last = nxt if nxt != 0 else last
    bits.ue()  # log2_max_frame_num_minus4
    poc_type = bits.ue()
    if poc_type == 0:
        bits.ue()
    elif poc_type == 1:
        bits.u(1)
        bits.se()
        bits.se()
        for _ in range(min(bits.ue(), 255)):
            bits.se()
    bits.ue()  # max_num_ref_frames
    bits.u(1)
    width_mbs = bits.ue() + 1
    height_units = bits.ue() + 1
    frame_mbs_only = bits.u(1)
    if not frame_mbs_only:
        bits.u(1)
    bits.u(1)
    crop = (0, 0, 0, 0)
    if bits.u(1):
        crop = (bits.ue(), bits.ue(), bits.ue(), bits.ue())
    if chroma == 0 or separate:
        unit_x, unit_y = 1, 2 - frame_mbs_only
    else:
        sub_w = 1 if chroma == 3 else 2
        sub_h = 2 if chroma == 1 else 1
        unit_x, unit_y = sub_w, sub_h * (2 - frame_mbs_only)
    width = width_mbs * 16 - unit_x * (crop[0] + crop[1])
    height = (2 - frame_mbs_only) * height_units * 16 - unit_y * (crop[2] + crop[3])
    if not (0 < width <= 16384 and 0 < height <= 16384):
        raise ValueError("implausible size")
    return width, height


def _hevc_sps(rbsp: bytes) -> tuple[int, int]:
    bits = _Bits(rbsp)
    bits.u(4)  # sps_video_parameter_set_id
    max_sub_layers = bits.u(3)
    bits.u(1)
    bits.u(88)  # general profile space/tier/idc, compatibility flags, constraint flags
    bits.u(8)  # general_level_idc
    profile_present = []
    level_present = []
    for _ in range(max_sub_layers):
        profile_present.append(bits.u(1))
        level_present.append(bits.u(1))
    if max_sub_layers > 0:
        for _ in range(max_sub_layers, 8):
            bits.u(2)
    for i in range(max_sub_layers):
        if profile_present[i]:
            bits.u(88)
        if level_present[i]:
            bits.u(8)
    bits.ue()  # sps_seq_parameter_set_id
    chroma = bits.ue()
    if chroma == 3:
        bits.u(1)
    width = bits.ue()
    height = bits.ue()
    if bits.u(1):  # conformance_window_flag
        left, right, top, bottom = bits.ue(), bits.ue(), bits.ue(), bits.ue()
        sub_w = 2 if chroma in (1, 2) else 1
        sub_h = 2 if chroma == 1 else 1
        width -= sub_w * (left + right)
        height -= sub_h * (top + bottom)
    if not (0 < width <= 16384 and 0 < height <= 16384):
        raise ValueError("implausible size")
    return width, height


# -- fMP4 ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Mp4Track:
    track_id: int
    timescale: int = 0
    kind: str = ""  # "vide", "soun", ...
    width: int = 0
    height: int = 0


@dataclass(slots=True)
class Mp4Init:
    tracks: dict[int, Mp4Track] = field(default_factory=dict)

    def video(self) -> Mp4Track | None:
        return next((t for t in self.tracks.values() if t.kind == "vide"), None)


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[str, int, int]]:
    """(type, payload_start, box_end) for each box in data[start:end]; stops at a truncated box."""
    end = len(data) if end is None else min(end, len(data))
    out = []
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                break
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header:
            break
        out.append((kind.decode("latin-1"), pos + header, pos + size))
        pos += size
    return out


def _child(data: bytes, start: int, end: int, kind: str) -> tuple[int, int] | None:
    for name, payload, box_end in _boxes(data, start, end):
        if name == kind:
            return payload, box_end
    return None


def is_mp4(data: bytes) -> bool:
    return len(data) >= 8 and data[4:8] in (b"ftyp", b"styp", b"moof", b"moov", b"sidx", b"free", b"emsg")


def read_mp4_init(data: bytes) -> Mp4Init:
    init = Mp4Init()
    moov = _child(data, 0, len(data), "moov")
    if moov is None:
        return init
    for name, payload, end in _boxes(data, *moov):
        if name != "trak":
            continue
        try:
            track = _read_trak(data, payload, end)
        except (struct.error, IndexError):
            continue
        if track is not None:
            init.tracks[track.track_id] = track
    return init


def _read_trak(data: bytes, start: int, end: int) -> Mp4Track | None:
    tkhd = _child(data, start, end, "tkhd")
    if tkhd is None:
        return None
    pos, box_end = tkhd
    version = data[pos]
    id_at = pos + 4 + (16 if version == 1 else 8)
    track = Mp4Track(track_id=struct.unpack_from(">I", data, id_at)[0])
    if box_end - pos >= 8:
        track.width = struct.unpack_from(">I", data, box_end - 8)[0] >> 16
        track.height = struct.unpack_from(">I", data, box_end - 4)[0] >> 16
    mdia = _child(data, start, end, "mdia")
    if mdia is not None:
        mdhd = _child(data, *mdia, "mdhd")
        if mdhd is not None:
            pos = mdhd[0]
            track.timescale = struct.unpack_from(">I", data, pos + 4 + (16 if data[pos] == 1 else 8))[0]
        hdlr = _child(data, *mdia, "hdlr")
        if hdlr is not None:
            track.kind = data[hdlr[0] + 8 : hdlr[0] + 12].decode("latin-1")
    return track


def read_mp4_fragment(data: bytes) -> dict[int, int]:
    """track id -> baseMediaDecodeTime of the first ``moof`` in a media segment prefix."""
    times: dict[int, int] = {}
    moof = _child(data, 0, len(data), "moof")
    if moof is None:
        return times
    for name, payload, end in _boxes(data, *moof):
        if name != "traf":
            continue
        tfhd = _child(data, payload, end, "tfhd")
        tfdt = _child(data, payload, end, "tfdt")
        if tfhd is None or tfdt is None:
            continue
        try:
            track_id = struct.unpack_from(">I", data, tfhd[0] + 4)[0]
            pos = tfdt[0]
            if data[pos] == 1:
                times[track_id] = struct.unpack_from(">Q", data, pos + 4)[0]
            else:
                times[track_id] = struct.unpack_from(">I", data, pos + 4)[0]
        except struct.error:
            continue
    return times


def read_mp4(segment: bytes, init: Mp4Init | None) -> MediaInfo:
    """Start time (seconds, needs the init segment's timescale) and size of an fMP4 segment."""
    info = MediaInfo(container="fmp4")
    if init is None:
        init = read_mp4_init(segment)  # self-initialising segments carry their own moov
    times = read_mp4_fragment(segment)
    video = init.video()
    if video is not None:
        info.width, info.height = video.width or None, video.height or None
        info.track_id = video.track_id
    order = ([video.track_id] if video is not None else []) + sorted(times)
    for track_id in order:
        track = init.tracks.get(track_id)
        if track_id in times and track is not None and track.timescale:
            info.start = times[track_id] / track.timescale
            info.track_id = track_id
            break
    return info


def read_media(data: bytes, init: bytes | Mp4Init | None = None) -> MediaInfo:
    """Detect the container and read it (TS, or fMP4 with an optional init segment)."""
    if is_mp4(data):
        parsed = read_mp4_init(init) if isinstance(init, bytes) else init
        return read_mp4(data, parsed)
    return read_ts(data)


def pts_delta(later: float, earlier: float, *, wrap: bool) -> float:
    """later - earlier in seconds, taking the 33-bit PTS wrap-around into account for TS."""
    delta = later - earlier
    if wrap:
        period = PTS_WRAP / PTS_HZ
        delta = (delta + period / 2) % period - period / 2
    return delta
