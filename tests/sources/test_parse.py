"""Apple CMS parsing: envelope (JSON/XML), play urls, text fields, SearchResult mapping, detail scraping."""

from __future__ import annotations

import html
import random
import re
import time
from typing import Any

import orjson
import pytest

from moontv.sources.models import ApiSite, SourceError
from moontv.sources.parse import (
    YELLOW_WORDS,
    clean_html,
    extract_year,
    is_adult,
    m3u8_from_content,
    normalize_title,
    parse_detail_html,
    parse_detail_page,
    parse_envelope,
    parse_play_url,
    parse_search_page,
    to_search_result,
)
from tests.sources.fixture_data import expectations, expected_episodes, fixture_names, load

SITE = ApiSite(key="dy", name="电影天堂", api="http://127.0.0.1:9/api.php/provide/vod")
WIRE_KEYS = [
    "id",
    "title",
    "poster",
    "episodes",
    "episodes_titles",
    "source",
    "source_name",
    "class",
    "year",
    "desc",
    "type_name",
    "douban_id",
]


def envelope(items: Any, **extra: Any) -> bytes:
    return orjson.dumps({"code": 1, "msg": "数据列表", "page": 1, "pagecount": 1, "list": items, **extra})


def item(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"vod_id": 1, "vod_name": "片名", "vod_play_url": "正片$https://a.example/1.m3u8"}
    base.update(fields)
    return base


def parse_error(body: bytes) -> SourceError:
    with pytest.raises(SourceError) as info:
        parse_envelope(body)
    return info.value


# ---------------------------------------------------------------------------------------------------------
# every recorded fixture


@pytest.mark.parametrize("name", fixture_names())
def test_every_fixture_parses_as_recorded(name: str) -> None:
    recorded = load(name)
    expected = expectations()[name]
    if "empty body" in expected.observed:
        with pytest.raises(SourceError) as info:
            parse_search_page(recorded.body, SITE, filter_adult=True)
        assert info.value.kind == "parse"
        return
    if "closed" in expected.observed:
        with pytest.raises(SourceError) as info:
            parse_search_page(recorded.body, SITE, filter_adult=True)
        assert info.value.kind == "closed"
        assert info.value.user_message == "接口已关闭"
        return
    page = parse_search_page(recorded.body, SITE, filter_adult=True)
    if expected.ids is None:  # the 429 JSON: an object without a list
        assert recorded.status == 429
        assert (page.items, page.raw_count) == ([], 0)
        return
    assert [int(result["id"]) for result in page.items] == expected.ids
    assert page.raw_count == len(expected.ids)
    counts = expected.counts
    assert counts is not None
    assert (page.page, page.pagecount) == (counts["page"], counts["pagecount"])
    assert page.extra == {"total": counts["total"], "limit": counts["limit"]}
    for result in page.items:
        assert list(result) == WIRE_KEYS
        assert len(result["episodes"]) == expected_episodes(recorded, int(result["id"]))
        assert len(result["episodes_titles"]) == len(result["episodes"])
        assert all(url.endswith(".m3u8") for url in result["episodes"])
        assert (result["source"], result["source_name"]) == ("dy", "电影天堂")


def test_envelope_keeps_class_and_coerces_counts_for_list_mode() -> None:
    data = parse_envelope(load("list_default").body)
    assert [entry["type_name"] for entry in data["class"]][:3] == ["电影", "电视剧", "综艺"]
    assert len(data["class"]) == 8
    assert (data["page"], data["pagecount"], data["limit"], data["total"]) == (1, 1, 20, 11)
    assert data["list"][0]["vod_play_from"] == "ffm3u8"


def test_two_groups_pick_the_eight_episode_ffm3u8_group() -> None:
    result = parse_search_page(load("videolist_ids_two_groups").body, SITE, filter_adult=True).items[0]
    assert len(result["episodes"]) == 8
    assert all("ffzy-play" in url for url in result["episodes"])
    assert result["episodes_titles"] == [f"第0{n}集" for n in range(1, 9)]
    assert result["title"] == "The Silent Sea 寂静之海"


def test_from_filter_keeps_the_lz_group() -> None:
    result = parse_search_page(load("videolist_from_filter").body, SITE, filter_adult=True).items[0]
    assert len(result["episodes"]) == 6
    assert all("lz-play" in url for url in result["episodes"])


def test_share_page_gives_a_result_with_zero_episodes() -> None:
    page = parse_search_page(load("videolist_ids_share_page").body, SITE, filter_adult=True)
    assert [result["id"] for result in page.items] == ["6"]
    assert page.items[0]["episodes"] == []
    assert page.items[0]["episodes_titles"] == []
    assert page.items[0]["desc"] == "只有分享页地址。"


def test_html_content_is_cleaned_and_entities_decoded() -> None:
    result = parse_search_page(load("videolist_ids_html_content").body, SITE, filter_adult=True).items[0]
    assert result["desc"] == (
        '一位\n搭便车\n的旅行者 & 他的外星朋友，在地球被拆除前的最后\n12分钟\n……\n导演：<未知>\n*>alert("x")'
    )
    assert result["year"] == "unknown"  # vod_year is ''
    assert result["class"] == "喜剧,科幻"
    assert result["episodes_titles"] == ["正片"]


def test_full_mapping_of_one_fixture_item() -> None:
    results = parse_search_page(load("videolist_wd_hit_multi").body, SITE, filter_adult=True).items
    assert results[1] == {
        "id": "1",
        "title": "流浪星球",
        "poster": "https://img.example.com/vod/2023/liulang1.jpg",
        "episodes": ["https://vip.ffzy-play.example.com/20230122/11111_aaaa1111/index.m3u8"],
        "episodes_titles": ["正片"],
        "source": "dy",
        "source_name": "电影天堂",
        "class": "科幻,动作",
        "year": "2023",
        "desc": "太阳即将毁灭，人类带着星球逃离。",
        "type_name": "动作片",
        "douban_id": 26266893,
    }


def test_variety_show_keeps_date_labels() -> None:
    results = parse_search_page(load("videolist_wd_cjk_partial2").body, SITE, filter_adult=True).items
    assert results[0]["episodes_titles"] == ["20250301", "20250308", "20250315"]


def test_no_hit_keeps_pagecount_zero() -> None:
    page = parse_search_page(load("videolist_wd_nohit").body, SITE, filter_adult=True)
    assert (page.items, page.raw_count, page.pagecount) == ([], 0, 0)


@pytest.mark.parametrize(
    ("json_name", "xml_name"),
    [
        ("videolist_wd_hit_multi", "xml_videolist_wd"),
        ("path_format_json", "xml_query_param"),
        ("videolist_ids_two_groups", "xml_videolist_two_groups"),
        ("videolist_ids_html_content", "xml_videolist_html"),
        ("videolist_ids_single", "xml_detail_ids"),
        ("videolist_wd_nohit", "xml_videolist_wd_nohit"),
        ("list_default", "xml_list"),
    ],
)
def test_xml_and_json_of_the_same_request_agree(json_name: str, xml_name: str) -> None:
    from_json = parse_search_page(load(json_name).body, SITE, filter_adult=True)
    from_xml = parse_search_page(load(xml_name).body, SITE, filter_adult=True)

    # The XML format has no vod_class and no vod_douban_id: those two fields are the only difference.
    def comparable(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k not in ("class", "douban_id")} for r in results]

    assert comparable(from_xml.items) == comparable(from_json.items)
    assert (from_xml.page, from_xml.pagecount, from_xml.extra) == (
        from_json.page,
        from_json.pagecount,
        from_json.extra,
    )
    assert all(r["class"] == "" and r["douban_id"] == 0 for r in from_xml.items)


def test_xml_envelope_has_the_json_shape() -> None:
    data = parse_envelope(load("xml_videolist_two_groups").body)
    json_item = parse_envelope(load("videolist_ids_two_groups").body)["list"][0]
    xml_item = data["list"][0]
    for key in ("vod_id", "vod_name", "type_name", "vod_pic", "vod_year", "vod_content"):
        assert xml_item[key] == json_item[key], key
    assert xml_item["vod_play_from"] == json_item["vod_play_from"] == "ffm3u8$$$lzm3u8"
    assert xml_item["vod_play_url"] == json_item["vod_play_url"]
    assert xml_item["type_id"] == 14
    assert (data["page"], data["pagecount"], data["limit"], data["total"]) == (1, 1, 20, 1)


def test_xml_list_mode_reads_dt_and_class() -> None:
    data = parse_envelope(load("xml_list").body)
    assert data["list"][2]["vod_play_from"] == "ffm3u8,lzm3u8"
    assert data["list"][0]["vod_remarks"] == "更新至20250315期"
    assert data["class"][0] == {"type_id": 1, "type_name": "电影"}
    assert len(data["class"]) == 7


# ---------------------------------------------------------------------------------------------------------
# envelope: tolerance and failures


def test_bom_and_whitespace_are_stripped() -> None:
    data = parse_envelope(b"\xef\xbb\xbf \r\n" + envelope([item()]) + b"\n\n")
    assert data["list"][0]["vod_id"] == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"page": "2", "pagecount": "3", "limit": "20", "total": "41"}, (2, 3, 20, 41)),
        ({"page": 2.0, "pagecount": " 3 ", "limit": "20.0", "total": 41}, (2, 3, 20, 41)),
        ({"page": "x", "pagecount": None, "limit": [], "total": True}, (None, None, None, None)),
        ({"page": "1" * 500, "pagecount": "nan", "limit": "inf", "total": 1.5}, (None, None, None, None)),
    ],
)
def test_numeric_fields_are_coerced_or_dropped(raw: dict[str, Any], expected: tuple[Any, ...]) -> None:
    data = parse_envelope(orjson.dumps({"list": [], **raw}))
    assert tuple(data.get(key) for key in ("page", "pagecount", "limit", "total")) == expected


@pytest.mark.parametrize(
    "body",
    [
        b'{"list": null}',
        b'{"list": {"0": {"vod_id": 1}}}',
        b'{"list": "nope"}',
        b'{"code": 1}',
        b'{"code":100429,"msg":"\xe8\xaf\xb7\xe6\xb1\x82","data":{"retry_after":60}}',
    ],
)
def test_missing_or_wrong_list_is_empty(body: bytes) -> None:
    assert parse_envelope(body)["list"] == []


def test_list_items_that_are_not_objects_are_skipped() -> None:
    data = parse_envelope(envelope([1, "x", None, [item()], item(vod_id=7), True]))
    assert [entry["vod_id"] for entry in data["list"]] == [7]


@pytest.mark.parametrize(
    ("body", "kind", "needle"),
    [
        (b"", "parse", "empty"),
        (b"  \r\n\t ", "parse", "empty"),
        (b"\xef\xbb\xbf", "parse", "empty"),
        (b"closed", "closed", "closed"),
        (b"closed\n", "closed", "closed"),
        (b"\xef\xbb\xbfclosed", "closed", "closed"),
        (b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head></html>", "parse", "502 Bad"),
        (b"<html><body>Just a moment...</body></html>", "parse", "HTML"),
        (b"<?xml version='1.0'?><html><title>x</title></html>", "parse", "HTML"),
        (b'{"code":1,"list":[{"vod_id":1,', "parse", "invalid JSON"),
        (b'{"code":1', "parse", "invalid JSON"),
        (b"[1, 2, 3]", "parse", "array"),
        (b"null", "parse", "null"),
        (b"123", "parse", "number"),
        (b'"text"', "parse", "string"),
        (b"true", "parse", "boolean"),
        (b"Forbidden", "parse", "Forbidden"),
        (b"\xff\xfe{}", "parse", "not a CMS answer"),
        (b'{"a": "\xff"}', "parse", "invalid JSON"),
        (b"[" * 100_000, "parse", "JSON"),
        (b'{"a":' * 50_000, "parse", "JSON"),
    ],
)
def test_bodies_that_are_not_cms_answers(body: bytes, kind: str, needle: str) -> None:
    error = parse_error(body)
    assert error.kind == kind
    assert needle in error.detail
    assert len(error.detail) <= 80


def test_error_messages_never_dump_the_body() -> None:
    error = parse_error(b"Access denied: " + b"A" * 10_000)
    assert len(error.detail) <= 80
    assert error.user_message == f"数据解析失败: {error.detail}"  # the short detail is shown
    error = parse_error(b"<html><title>" + b"T" * 500 + b"</title></html>")
    assert len(error.detail) <= 80


XML_OLD_FORMAT = """<?xml version="1.0" encoding="utf-8"?>
<rss version="5.0">
  <list page="2" pagecount="4" pagesize="10" recordcount="31">
    <video>
      <last>2024-01-01 00:00:00</last>
      <id> 42 </id>
      <tid>7</tid>
      <name><![CDATA[ 老 格式 ]]></name>
      <type>喜剧片</type>
      <pic>https://img/x.jpg</pic>
      <year>2019</year>
      <dl>
        <dd from="m3u8"><![CDATA[
第1集$https://a/1.m3u8
第2集$https://a/2.m3u8
]]></dd>
        <dd from="share"><![CDATA[第1集$https://a/1.html]]></dd>
      </dl>
      <des><![CDATA[<p>简介 &amp; 更多</p>]]></des>
    </video>
  </list>
</rss>
""".encode()


def test_xml_old_format_with_from_attribute_and_newline_separated_episodes() -> None:
    page = parse_search_page(XML_OLD_FORMAT, SITE, filter_adult=False)
    assert (page.page, page.pagecount, page.extra) == (2, 4, {"total": 31, "limit": 10})
    result = page.items[0]
    assert result["id"] == "42"
    assert result["title"] == "老 格式"
    assert result["episodes"] == ["https://a/1.m3u8", "https://a/2.m3u8"]
    assert result["episodes_titles"] == ["第1集", "第2集"]
    assert result["desc"] == "简介 & 更多"
    assert result["year"] == "2019"
    assert parse_envelope(XML_OLD_FORMAT)["list"][0]["vod_play_from"] == "m3u8$$$share"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            b"<rss><list><video><id>1</id><name>&lol2;</name></video></list></rss>",
            "DTD",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<rss><list><video><id>1</id><name>&x;</name></video></list></rss>",
            "DTD",
        ),
        (b'<?xml version="1.0"?><rss><list><video><id>1</id>', "invalid XML"),
        (b'<?xml version="1.0"?><feed><entry/></feed>', "not a CMS XML"),
        (b"<rss version='5.1'><channel/></rss>", "not a CMS XML"),
        (b'<?xml version="1.0"?><rss><list><video><name>&nbsp;</name></video></list></rss>', "invalid XML"),
    ],
)
def test_hostile_or_broken_xml_is_refused(body: bytes, needle: str) -> None:
    error = parse_error(body)
    assert error.kind == "parse"
    assert needle in error.detail


def test_xml_wrong_attribute_types_and_deep_nesting() -> None:
    body = b'<rss><list page="x" pagecount="" recordcount="3"><video><id>a1</id><name>n</name></video></list>'
    body += b"</rss>"
    data = parse_envelope(body)
    assert "page" not in data and "pagecount" not in data and data["total"] == 3
    assert data["list"][0]["vod_id"] == "a1"
    deep = b"<rss><list>" + b"<a>" * 50_000 + b"</a>" * 50_000 + b"</list></rss>"
    assert parse_envelope(deep)["list"] == []


# ---------------------------------------------------------------------------------------------------------
# play urls

M = "https://cdn.example/{}.m3u8"


@pytest.mark.parametrize(
    ("play_url", "urls", "titles"),
    [
        ("正片$https://a/1.m3u8", ["https://a/1.m3u8"], ["正片"]),
        ("", [], []),
        ("$$$", [], []),
        ("第1集$https://a/1.mp4#第2集$https://a/2.html", [], []),
        # non-.m3u8 entries are dropped: query strings, mp4, share pages, upper-case suffix
        (
            "1$https://a/1.m3u8?t=1#2$https://a/2.mp4#3$https://a/3.M3U8#4$https://a/4.m3u8",
            ["https://a/4.m3u8"],
            ["4"],
        ),
        # the group with the most kept entries wins ...
        (f"a${M.format(1)}$$$a${M.format(2)}#b${M.format(3)}", [M.format(2), M.format(3)], ["a", "b"]),
        # ... counting only .m3u8 entries, ties keep the earlier group
        (f"x${M.format(1)}#y$https://s/2.html$$$p${M.format(3)}", [M.format(1)], ["x"]),
        (f"a${M.format(1)}$$$b${M.format(2)}", [M.format(1)], ["a"]),
        (f"a$https://s/1.html#b$https://s/2.html$$$c${M.format(3)}", [M.format(3)], ["c"]),
        # bare urls are legal: titled by their 1-based position among kept episodes
        (f"{M.format(1)}#{M.format(2)}", [M.format(1), M.format(2)], ["1", "2"]),
        (
            f"片头$https://s/x.html#{M.format(1)}#第2集${M.format(2)}",
            [M.format(1), M.format(2)],
            ["1", "第2集"],
        ),
        # an empty label is treated like a bare url
        (f"${M.format(1)}", [M.format(1)], ["1"]),
        # newlines and CR split entries too; empty entries are ignored
        (
            f"a${M.format(1)}\r\nb${M.format(2)}\n\n#c${M.format(3)}##",
            [M.format(n) for n in (1, 2, 3)],
            list("abc"),
        ),
        # parts after the url are ignored; blanks around label and url are trimmed
        (f" 第1集 $ {M.format(1)} $ignored$more", [M.format(1)], ["第1集"]),
    ],
)
def test_parse_play_url(play_url: str, urls: list[str], titles: list[str]) -> None:
    assert parse_play_url(play_url) == (urls, titles)


@pytest.mark.parametrize("value", [None, 12, 1.5, ["a$b.m3u8"], {"a": 1}, b"a$https://a/1.m3u8"])
def test_parse_play_url_wrong_types(value: Any) -> None:
    assert parse_play_url(value) == ([], [])


@pytest.mark.parametrize(
    ("content", "urls"),
    [
        (
            "<p>看 https://a.example/1.m3u8 和 http://b.example/2.m3u8</p>",
            ["https://a.example/1.m3u8", "http://b.example/2.m3u8"],
        ),
        ('<video src="https://a/x.m3u8"></video>', ["https://a/x.m3u8"]),
        ("https://a/1.m3u8https://b/2.m3u8", ["https://a/1.m3u8", "https://b/2.m3u8"]),
        ("https://a/x.m3u8?token=1", ["https://a/x.m3u8"]),
        ("https://a/x.m3u8.m3u8", ["https://a/x.m3u8"]),
        ("ftp://a/x.m3u8 //a/y.m3u8 https://.m3u8", []),
        ("httpx://a/x.m3u8 http:/a/x.m3u8", []),
        ("<https://a/x.m3u8>", ["https://a/x.m3u8"]),
        ("'https://a/x y.m3u8'", []),
        ("no links at all", []),
        ("", []),
    ],
)
def test_m3u8_from_content(content: str, urls: list[str]) -> None:
    assert m3u8_from_content(content) == (urls, [str(n) for n in range(1, len(urls) + 1)])


def test_content_fallback_is_used_when_no_group_has_m3u8() -> None:
    result = to_search_result(
        item(
            vod_play_url="正片$https://v.qq.com/x.html",
            vod_content="<p>备用 https://b/1.m3u8 https://b/2.m3u8</p>",
        ),
        SITE,
    )
    assert result is not None
    assert (result["episodes"], result["episodes_titles"]) == (
        ["https://b/1.m3u8", "https://b/2.m3u8"],
        ["1", "2"],
    )


REFERENCE_M3U8 = re.compile(r"https?://[^\s\"'<>]+?\.m3u8")
REFERENCE_TAG = re.compile(r"<[^>]+>")


def _random_text(rng: random.Random) -> str:
    pieces = [
        "http",
        "https",
        "://",
        "s://",
        ".m3u8",
        ".m3u",
        "a",
        "/",
        " ",
        '"',
        "'",
        "<",
        ">",
        "\n",
        "中",
        ".",
        "x",
    ]
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))


def test_linear_url_scanner_matches_the_reference_regex() -> None:
    rng = random.Random(1234)
    for _ in range(3000):
        text = _random_text(rng)
        assert m3u8_from_content(text)[0] == REFERENCE_M3U8.findall(text), text


def test_linear_tag_stripper_matches_the_reference_regex() -> None:
    rng = random.Random(99)
    for _ in range(3000):
        text = _random_text(rng)
        expected = REFERENCE_TAG.sub("\n", text)
        expected = re.sub(r"\n+", "\n", expected)
        expected = re.sub(r"[ \t]+", " ", expected).strip("\n").strip()
        assert clean_html(text) == html.unescape(expected), text


# ---------------------------------------------------------------------------------------------------------
# text fields


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("<p>a</p><p>b</p>", "a\nb"),
        ("a\n\n\nb", "a\nb"),
        ("a \t  b", "a b"),
        ("  <br/>x<br/>  ", "x"),
        ("<p>\n\n</p>", ""),
        ("&amp;lt;", "&lt;"),  # decoded once, after tag stripping
        ("&lt;b&gt;bold&lt;/b&gt;", "<b>bold</b>"),
        ("a&nbsp;b &hellip; &#39;q&#39; &#x4e2d; &copy;", "a\xa0b … 'q' 中 ©"),
        ("a < b > c", "a \n c"),
        ("a<>b", "a<>b"),
        ("a <b", "a <b"),
        ("<script>alert(1)</script>text", "alert(1)\ntext"),
        ("\n\n 前后 \n\n", "前后"),
        ("", ""),
    ],
)
def test_clean_html(raw: str, cleaned: str) -> None:
    assert clean_html(raw) == cleaned


@pytest.mark.parametrize("value", [None, 5, ["<p>x</p>"], {"a": "b"}])
def test_clean_html_wrong_types(value: Any) -> None:
    assert clean_html(value) == ""


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        ("  流浪   星球 \t2 ", "流浪 星球 2"),
        ("a\n\rb", "a b"),
        ("\u3000全角\u3000空格\u3000", "全角 空格"),
        ("", ""),
        (1917, "1917"),
        (None, ""),
    ],
)
def test_normalize_title(raw: Any, title: str) -> None:
    assert normalize_title(raw) == title


@pytest.mark.parametrize(
    ("raw", "year"),
    [
        ("2024", "2024"),
        ("2024年", "2024"),
        ("约1999-2001", "1999"),
        ("12345", "1234"),
        ("", "unknown"),
        ("123", "unknown"),
        ("２０２４", "unknown"),  # only ASCII digits count
        (2023, "2023"),
        (None, "unknown"),
        ([2024], "unknown"),
    ],
)
def test_extract_year(raw: Any, year: str) -> None:
    assert extract_year(raw) == year


# ---------------------------------------------------------------------------------------------------------
# adult filter


def test_yellow_words_are_the_twenty_of_the_spec() -> None:
    assert YELLOW_WORDS == (
        "伦理片",
        "福利",
        "里番动漫",
        "门事件",
        "萝莉少女",
        "制服诱惑",
        "国产传媒",
        "cosplay",
        "黑丝诱惑",
        "无码",
        "日本无码",
        "有码",
        "日本有码",
        "SWAG",
        "网红主播",
        "色情片",
        "同性片",
        "福利视频",
        "福利片",
        "写真热舞",
    )


@pytest.mark.parametrize(
    ("type_name", "adult"),
    [
        ("伦理片", True),
        ("国产传媒", True),
        ("精品福利视频", True),
        ("cosplay视频", True),
        ("Cosplay", False),
        ("swag", False),
        ("SWAG", True),
        ("动作片", False),
        ("", False),
        (None, False),
        (7, False),
    ],
)
def test_is_adult(type_name: Any, adult: bool) -> None:
    assert is_adult(type_name) is adult


def test_search_page_filter_counts_raw_results_before_filtering() -> None:
    body = envelope([item(vod_id=1, type_name="伦理片"), item(vod_id=2, type_name="动作片"), item(vod_id=3)])
    filtered = parse_search_page(body, SITE, filter_adult=True)
    assert ([r["id"] for r in filtered.items], filtered.raw_count) == (["2", "3"], 3)
    unfiltered = parse_search_page(body, SITE, filter_adult=False)
    assert ([r["id"] for r in unfiltered.items], unfiltered.raw_count) == (["1", "2", "3"], 3)
    everything_filtered = parse_search_page(envelope([item(type_name="福利")]), SITE, filter_adult=True)
    assert (everything_filtered.items, everything_filtered.raw_count) == ([], 1)


# ---------------------------------------------------------------------------------------------------------
# SearchResult mapping


def test_mapping_key_order_and_defaults() -> None:
    result = to_search_result({"vod_id": 9, "vod_name": "只有名字"}, SITE)
    assert result is not None
    assert list(result) == WIRE_KEYS
    assert result == {
        "id": "9",
        "title": "只有名字",
        "poster": "",
        "episodes": [],
        "episodes_titles": [],
        "source": "dy",
        "source_name": "电影天堂",
        "class": "",
        "year": "unknown",
        "desc": "",
        "type_name": "",
        "douban_id": 0,
    }


@pytest.mark.parametrize(
    "fields",
    [
        {"vod_id": None},
        {"vod_id": ""},
        {"vod_id": "  "},
        {"vod_id": True},
        {"vod_id": [1]},
        {"vod_id": {"a": 1}},
        {"vod_name": None},
        {"vod_name": ""},
        {"vod_name": " \t "},
        {"vod_name": ["x"]},
    ],
)
def test_items_without_id_or_name_are_dropped(fields: dict[str, Any]) -> None:
    assert to_search_result(item(**fields), SITE) is None


def test_missing_keys_and_non_dict_items() -> None:
    assert to_search_result({"vod_name": "x"}, SITE) is None
    assert to_search_result({"vod_id": 1}, SITE) is None
    assert to_search_result("not a dict", SITE) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "key", "value"),
    [
        ({"vod_id": "abc-1"}, "id", "abc-1"),
        ({"vod_id": 12.0}, "id", "12"),
        ({"vod_name": 1917}, "title", "1917"),
        ({"vod_pic": None}, "poster", ""),
        ({"vod_pic": 5}, "poster", "5"),
        ({"vod_play_url": 123}, "episodes", []),
        ({"vod_play_url": None}, "episodes", []),
        ({"vod_play_url": ["正片$https://a/1.m3u8"]}, "episodes", []),
        ({"vod_content": {"x": 1}}, "desc", ""),
        ({"vod_class": None}, "class", ""),
        ({"vod_year": 2021}, "year", "2021"),
        ({"vod_year": None}, "year", "unknown"),
        ({"type_name": None}, "type_name", ""),
        ({"vod_douban_id": "26266893"}, "douban_id", 26266893),
        ({"vod_douban_id": 1.0}, "douban_id", 1),
        ({"vod_douban_id": "abc"}, "douban_id", 0),
        ({"vod_douban_id": -5}, "douban_id", 0),
        ({"vod_douban_id": None}, "douban_id", 0),
        ({"vod_douban_id": True}, "douban_id", 0),
    ],
)
def test_wrong_field_types_are_tolerated(fields: dict[str, Any], key: str, value: Any) -> None:
    result = to_search_result(item(**fields), SITE)
    assert result is not None
    assert result[key] == value


def test_title_is_normalised_for_search_but_raw_in_detail() -> None:
    raw = item(vod_name="  星河   Star\tRiver ")
    assert to_search_result(raw, SITE)["title"] == "星河 Star River"  # type: ignore[index]
    assert to_search_result(raw, SITE, normalize=False)["title"] == "  星河   Star\tRiver "  # type: ignore[index]
    detail = parse_detail_page(envelope([raw]), SITE)
    assert detail is not None and detail["title"] == "  星河   Star\tRiver "


def test_search_page_pagecount_rules() -> None:
    def pagecount(**extra: Any) -> int:
        body = orjson.dumps({"list": [], **extra})
        return parse_search_page(body, SITE, filter_adult=True).pagecount

    assert pagecount() == 1
    assert pagecount(pagecount=0) == 0
    assert pagecount(pagecount="0") == 0
    assert pagecount(pagecount="7") == 7
    assert pagecount(pagecount=-3) == 0
    assert pagecount(pagecount="many") == 1
    page = parse_search_page(orjson.dumps({"list": [], "page": -2}), SITE, filter_adult=True)
    assert page.page == 1


def test_detail_page_takes_the_first_valid_item() -> None:
    assert parse_detail_page(envelope([{"vod_name": "no id"}, item(vod_id=8)]), SITE)["id"] == "8"  # type: ignore[index]
    assert parse_detail_page(envelope([]), SITE) is None
    detail = parse_detail_page(load("videolist_ids_two_groups").body, SITE)
    assert detail is not None and len(detail["episodes"]) == 8
    with pytest.raises(SourceError) as info:
        parse_detail_page(b"closed", SITE)
    assert info.value.kind == "closed"


# ---------------------------------------------------------------------------------------------------------
# detail-site HTML scraping

DETAIL_HTML = """<!DOCTYPE html><html><head><title>站点</title></head><body>
<div class="header"><img src="https://cdn.site/logo.png"></div>
<div class="cover"><img src="https://img.site/cover/42.jpg"><img src="https://img.site/other.jpg"></div>
<H1 class="title"> 长夜 <small>行歌</small> </H1>
<ul><li>年份：<span>2024</span></li><li>编号 <b>12345</b></li></ul>
<div class="detail sketch content"><p>长安城中，&amp; 一夜之间。</p><p>第二段</p></div>
<div class="playlist">
<input value="第01集$https://v.site/a/1/index.m3u8"><input value="第02集$https://v.site/a/2/index.m3u8(备用)">
<span>第01集$https://v.site/a/1/index.m3u8</span>
</div></body></html>"""


def test_detail_html_generic_site() -> None:
    site = ApiSite(key="other", name="其他", api="https://x/api.php/provide/vod", detail="https://x")
    result = parse_detail_html(DETAIL_HTML, site, "42")
    assert result == {
        "id": "42",
        "title": "长夜 \n行歌",
        "poster": "https://img.site/cover/42.jpg",
        "episodes": ["https://v.site/a/1/index.m3u8", "https://v.site/a/2/index.m3u8"],
        "episodes_titles": ["1", "2"],
        "source": "other",
        "source_name": "其他",
        "class": "",
        "year": "2024",
        "desc": "长安城中，& 一夜之间。\n第二段",
        "type_name": "",
        "douban_id": 0,
    }


FFZY_HTML = """<h1>片名</h1><div class="sketch">简介</div>
<a>$https://cdn.other/share/abc.m3u8</a>
<a>第1集$https://vip.ffzy.example/20240315/12345_ab12cd/index.m3u8</a>
<a>第2集$https://vip.ffzy.example/20240315/12346_ab12ce/index.m3u8</a>
<a>第1集$https://vip.ffzy.example/20240315/12345_ab12cd/index.m3u8</a>"""


def test_detail_html_ffzy_prefers_its_own_url_shape() -> None:
    ffzy = ApiSite(key="ffzy", name="非凡", api="https://x/api", detail="https://x")
    result = parse_detail_html(FFZY_HTML, ffzy, "7")
    assert result is not None
    assert result["episodes"] == [
        "https://vip.ffzy.example/20240315/12345_ab12cd/index.m3u8",
        "https://vip.ffzy.example/20240315/12346_ab12ce/index.m3u8",
    ]
    other = ApiSite(key="other", name="其他", api="https://x/api", detail="https://x")
    assert parse_detail_html(FFZY_HTML, other, "7")["episodes"][0] == "https://cdn.other/share/abc.m3u8"  # type: ignore[index]
    # ffzy without its URL shape falls back to every $-prefixed m3u8
    only_generic = "<h1>x</h1><a>$https://cdn.other/x/index.m3u8</a>"
    assert parse_detail_html(only_generic, ffzy, "7")["episodes"] == ["https://cdn.other/x/index.m3u8"]  # type: ignore[index]


def test_detail_html_fallback_and_empty_pages() -> None:
    site = ApiSite(key="s", name="S", api="https://x/api", detail="https://x")
    page = '<h1>标题</h1><video src="https://a/b/index.m3u8"></video>'
    result = parse_detail_html(page, site, "1")
    assert result is not None
    assert (result["episodes"], result["year"], result["desc"], result["poster"]) == (
        ["https://a/b/index.m3u8"],
        "unknown",
        "",
        "",
    )
    assert parse_detail_html("<html><body>404 Not Found</body></html>", site, "1") is None
    assert parse_detail_html("", site, "1") is None
    assert parse_detail_html(None, site, "1") is None  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------
# hostile input: must stay fast (linear) and raise nothing but SourceError

HOSTILE_TEXT = [
    "<" * 400_000,
    "<a" * 200_000,
    "http://" * 150_000,
    "https://" + "x" * 1_000_000,
    "$http://" * 150_000,
    "<div " * 150_000,
    "<h1 " * 150_000 + ">",
    "<div class='sketch'>" * 50_000,
    "&" * 300_000,
    "$https://a/" + "/20240101/1_" + "a" * 500_000,
]


@pytest.mark.parametrize("index", range(len(HOSTILE_TEXT)))
def test_hostile_text_is_processed_in_linear_time(index: int) -> None:
    text = HOSTILE_TEXT[index]
    ffzy = ApiSite(key="ffzy", name="F", api="https://x/api", detail="https://x")
    started = time.perf_counter()
    clean_html(text)
    m3u8_from_content(text)
    parse_play_url(text)
    parse_detail_html(text, ffzy, "1")
    to_search_result(item(vod_name=text[:1000], vod_content=text, vod_play_url=text), SITE)
    assert time.perf_counter() - started < 3.0


def test_huge_play_url_and_huge_page() -> None:
    play_url = "#".join(f"第{n}集$https://a/{n}.m3u8" for n in range(100_000))
    started = time.perf_counter()
    urls, titles = parse_play_url(play_url + "$$$" + play_url[:1000])
    assert len(urls) == len(titles) == 100_000
    body = envelope(
        [item(vod_id=n, vod_play_url=play_url[:5000], vod_content="x" * 50_000) for n in range(200)]
    )
    assert parse_search_page(body, SITE, filter_adult=True).raw_count == 200
    assert time.perf_counter() - started < 3.0


@pytest.mark.parametrize(
    "value",
    [None, 0, -1, 1.5, "", "x" * 10_000, [], [None], {}, {"a": [1, {"b": None}]}, True, float("inf")],
)
def test_every_field_with_every_wrong_type(value: Any) -> None:
    keys = [
        "vod_id",
        "vod_name",
        "vod_pic",
        "vod_play_url",
        "vod_content",
        "vod_class",
        "vod_year",
        "type_name",
        "vod_douban_id",
    ]
    for key in keys:
        body = envelope([item(**{key: value})], page=value, pagecount=value, limit=value, total=value)
        page = parse_search_page(body, SITE, filter_adult=True)
        assert page.raw_count in (0, 1)
        parse_detail_page(body, SITE)


def test_parsing_a_real_page_is_fast() -> None:
    body = load("videolist_wd_empty").body  # ~24 KB, 11 full items
    assert len(body) > 20_000
    runs = 200
    started = time.perf_counter()
    for _ in range(runs):
        parse_search_page(body, SITE, filter_adult=True)
    assert (time.perf_counter() - started) / runs < 0.005
