"""``SearchResult`` is the one description of what the parser emits: every result parsed from the real
Apple CMS answers in tests/fixtures/maccms is exactly that model's wire form, fields in its order."""

from __future__ import annotations

from moontv.sources.models import ApiSite, SearchResult, SourceError
from moontv.sources.parse import parse_detail_html, parse_search_page
from tests.sources.fixture_data import fixture_names, load
from tests.sources.test_parse import WIRE_KEYS

SITE = ApiSite(key="dy", name="电影天堂", api="http://127.0.0.1:9/api.php/provide/vod")


def test_the_model_lists_the_wire_fields_in_order() -> None:
    assert [field.alias or name for name, field in SearchResult.model_fields.items()] == WIRE_KEYS


def _wire(result: dict[str, object]) -> dict[str, object]:
    return SearchResult.model_validate(result).model_dump(by_alias=True)


def test_parsed_fixture_results_are_search_results() -> None:
    results = []
    for name in fixture_names():
        try:
            results += parse_search_page(load(name).body, SITE, filter_adult=False).items
        except SourceError:
            continue  # not a list answer (closed API, HTML error page, ...): nothing to describe
    assert len(results) >= 20
    for result in results:
        wire = _wire(result)
        assert wire == result and list(wire) == list(result)
        assert all(type(wire[key]) is type(result[key]) for key in wire)


def test_scraped_detail_pages_are_search_results() -> None:
    html = '<h1>片名</h1><div class="sketch">简介</div>$https://v.example/1/index.m3u8 <td>2021</td>'
    result = parse_detail_html(html, SITE, "7")
    assert result is not None
    assert _wire(result) == result and list(_wire(result)) == list(result)
