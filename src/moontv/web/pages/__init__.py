"""The web UI's server-rendered pages, one module per page family; ``router`` serves them all.

A new page family is a module here with its own ``router``, added to ``FAMILIES``.
"""

from __future__ import annotations

from fastapi import APIRouter

from moontv.web.pages import admin, auth, douban, home, live, play, pwa

FAMILIES = (auth, home, play, live, douban, admin, pwa)

router = APIRouter()
for _family in FAMILIES:
    router.include_router(_family.router)
