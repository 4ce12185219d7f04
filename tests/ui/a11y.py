"""Accessibility audit of every page of the web UI with axe-core (WCAG 2.2 A/AA rules plus axe's best
practices), in both themes and at phone and desktop size. Used by tests/ui/test_a11y.py and
scripts/a11y_report.py.

axe-core comes from npm (package-lock.json) and is copied to tests/ui/vendor/ by scripts/build_frontend.sh;
the audit injects it into the page (the context bypasses the page's CSP for that, nothing else).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.ui.support import CATALOGUE, UiWorld

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING = frozenset({"serious", "critical"})
VIEWPORTS = [(390, 844), (1440, 900)]
THEMES = ["dark", "light"]

#: (name, path, signed in); the play page plays the first title of the fake catalogue.
PAGES: list[tuple[str, str, bool]] = [
    ("login", "/login", False),
    ("home", "/", True),
    ("favorites", "/?tab=favorites", True),
    ("search-empty", "/search", True),
    ("search", "/search?q=" + quote("星"), True),
    ("play", f"/play?source=alpha&id=101&title={quote(CATALOGUE[0].name)}", True),
    ("douban", "/douban?type=movie", True),
    ("live", "/live", True),
    ("admin", "/admin", True),
    ("offline", "/offline", True),
    ("notfound", "/no-such-page", True),
]

RUN_AXE = """async (tags) => {
    const options = { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] };
    const result = await axe.run(document, options);
    return result.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary || "" })),
    }));
}"""


@dataclass
class Violation:
    rule: str
    impact: str
    help: str
    nodes: list[dict[str, str]] = field(default_factory=list)

    @property
    def blocking(self) -> bool:
        return self.impact in BLOCKING


@dataclass
class Audit:
    page: str
    theme: str
    size: tuple[int, int]
    violations: list[Violation]

    @property
    def blocking(self) -> list[Violation]:
        return [v for v in self.violations if v.blocking]

    def describe(self) -> str:
        lines = [f"{self.page} {self.theme} {self.size[0]}x{self.size[1]}:"]
        for v in self.violations:
            targets = ", ".join(n["target"] for n in v.nodes[:4])
            lines.append(f"  [{v.impact}] {v.rule} ({len(v.nodes)}): {v.help} — {targets}")
        return "\n".join(lines)


def axe_violations(page: Any) -> list[Violation]:
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(RUN_AXE, TAGS)
    return [Violation(v["id"], v["impact"] or "minor", v["help"], v["nodes"]) for v in found]


def _settle(page: Any, name: str) -> None:
    page.wait_for_load_state("networkidle")
    if name == "search":
        page.wait_for_function(
            "() => { const s = document.getElementById('search-spinner'); return !s || s.hidden; }"
        )
    if name == "play":
        page.wait_for_function(
            "() => { const v = document.getElementById('player'); return v && v.readyState >= 2; }"
        )
    if name == "admin":
        page.wait_for_selector("#sources-table tbody tr")
    page.wait_for_timeout(400)  # transitions (toasts, fades) end before colours are measured
    page.evaluate("() => { for (const d of document.querySelectorAll('dialog[open]')) d.close(); }")


def audit_world(
    browser: Any, world: UiWorld, *, pages: list[tuple[str, str, bool]] | None = None
) -> Iterator[Audit]:
    """Audits every page in ``pages`` (default: all) for each theme and viewport."""
    for theme in THEMES:
        for width, height in VIEWPORTS:
            mobile = width < 600
            context = browser.new_context(
                viewport={"width": width, "height": height},
                is_mobile=mobile,
                has_touch=mobile,
                color_scheme=theme,
                bypass_csp=True,
                service_workers="block",
                reduced_motion="reduce",
            )
            context.set_default_timeout(20_000)
            context.add_cookies([{"name": "theme", "value": theme, "url": world.url}])
            context.add_init_script("try { localStorage.setItem('moontv_muted', 'true'); } catch (e) {}")
            try:
                page = context.new_page()
                signed_in = False
                for name, path, needs_login in pages or PAGES:
                    if needs_login and not signed_in:
                        page.goto(f"{world.url}/login")
                        page.fill("#username", "admin")
                        page.fill("#password", "test")
                        page.click("#login-submit")
                        page.wait_for_url(f"{world.url}/")
                        signed_in = True
                    page.goto(world.url + path)
                    _settle(page, name)
                    yield Audit(name, theme, (width, height), axe_violations(page))
            finally:
                context.close()
