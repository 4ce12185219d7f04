"""Search suggestions from result titles (MoonTV's fragment-scoring algorithm).

Each suggestion has a ``type``: ``exact`` (the query itself), ``related`` (starts with the query) or
``suggestion`` (contains it elsewhere), and a numeric ``score`` (higher first).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

# Space through ':' (ASCII punctuation and digits) plus full-width colon, middle dot, 、 and -.
_SPLIT = re.compile(r"[ -:：·、\-]+")


def suggestions(titles: Iterable[str], query: str, limit: int = 8) -> list[str]:
    return [item["text"] for item in scored_suggestions(titles, query, limit)]


def scored_suggestions(titles: Iterable[str], query: str, limit: int = 8) -> list[dict[str, str | float]]:
    """``[{text, type, score}]``, best first."""
    q = query.strip()
    if not q:
        return []
    q_lower = q.lower()
    q_words = [w for w in re.split(r"\s+", q_lower) if w]
    freq: dict[str, int] = {}
    first_form: dict[str, str] = {}
    order: list[str] = []
    for title in titles:
        for fragment in _SPLIT.split(title or ""):
            fragment = fragment.strip()
            if len(fragment) <= 1 or q_lower not in fragment.lower():
                continue
            key = fragment.lower()
            freq[key] = freq.get(key, 0) + 1
            if key not in first_form:
                first_form[key] = fragment
                order.append(key)
    picked = order[:limit]

    def score(key: str) -> float:
        text = key
        if text == q_lower:
            base = 3.0
        elif text.startswith(q_lower):
            base = 2.5
        elif text.endswith(q_lower):
            base = 2.0
        elif any(text.startswith(w) for w in q_words):
            base = 1.8
        elif any(w in text for w in q_words):
            base = 1.5
        else:
            base = 1.0
        value = base + 0.3 / (1 + 0.1 * abs(len(text) - len(q_lower))) + 0.2 * math.log(freq[key] + 1)
        if len(text) > 2 * len(q_lower):
            value -= 0.2
        return value

    def kind(key: str) -> str:
        if key == q_lower:
            return "exact"
        return "related" if key.startswith(q_lower) else "suggestion"

    scored = [(score(k), freq[k], len(k), i, k) for i, k in enumerate(picked)]
    # Scores within 0.01 tie: then by frequency (desc), then shorter first.
    scored.sort(key=lambda s: (-round(s[0], 2), -s[1], s[2], s[3]))
    return [{"text": first_form[s[4]], "type": kind(s[4]), "score": round(s[0], 3)} for s in scored]
