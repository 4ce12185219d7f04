"""Usernames that cannot impersonate another account.

Uniqueness is decided on ``canonical(name)`` (NFKC, then case-folded), so ``Owner`` and
``ｏwner`` (full-width) collide with ``owner``. New names must also be written in their NFKC
form and use only ASCII letters, digits and ``_ - . @``, plus CJK ideographs, kana and Hangul:
Cyrillic/Greek look-alikes of Latin letters, full-width forms, invisible and combining
characters are refused. Existing accounts with other names keep logging in unchanged.
"""

from __future__ import annotations

import unicodedata

_ASCII_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.@")
_SCRIPT_PREFIXES = ("CJK UNIFIED IDEOGRAPH", "HIRAGANA LETTER", "KATAKANA LETTER", "HANGUL SYLLABLE")
MAX_LENGTH = 32


def canonical(name: str) -> str:
    return unicodedata.normalize("NFKC", name).casefold()


def _char_allowed(char: str) -> bool:
    if char in _ASCII_ALLOWED:
        return True
    if char.isascii():
        return False
    return unicodedata.name(char, "").startswith(_SCRIPT_PREFIXES)


def new_username_problem(name: str) -> str | None:
    """Why ``name`` may not be registered (a message for the user), or None."""
    if not 1 <= len(name) <= MAX_LENGTH:
        return f"用户名需为 1-{MAX_LENGTH} 个字符"
    if unicodedata.normalize("NFKC", name) != name:
        return "用户名不能包含全角或兼容字符"
    if not all(_char_allowed(c) for c in name):
        return "用户名只能包含英文字母、数字、_ - . @ 以及中日韩文字"
    return None
