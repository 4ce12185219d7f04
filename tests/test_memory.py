"""The idle trimmer: one trim per quiet period after traffic, never while idle or while serving."""

from __future__ import annotations

import time

from moontv.memory import Activity, IdleTrimmer


def _trimmer(activity: Activity) -> tuple[IdleTrimmer, list[int]]:
    calls: list[int] = []

    def fake_trim() -> bool:
        calls.append(activity.served)
        return True

    return IdleTrimmer(activity, quiet=0.05, check_every=0.01, trim_fn=fake_trim), calls


def test_no_trim_without_traffic() -> None:
    activity = Activity()
    trimmer, calls = _trimmer(activity)
    time.sleep(0.06)
    assert not trimmer.check() and calls == []


def test_one_trim_after_a_quiet_period_following_traffic() -> None:
    activity = Activity()
    trimmer, calls = _trimmer(activity)
    activity.begin()
    activity.end()
    assert not trimmer.check()  # not quiet yet
    time.sleep(0.06)
    assert trimmer.check() and calls == [1]
    time.sleep(0.06)
    assert not trimmer.check() and trimmer.trims == 1  # nothing served since


def test_no_trim_while_a_request_is_in_flight() -> None:
    activity = Activity()
    trimmer, calls = _trimmer(activity)
    activity.begin()
    activity.end()
    activity.begin()  # a long stream is still being served
    time.sleep(0.06)
    assert not trimmer.check()
    activity.end()
    time.sleep(0.06)
    assert trimmer.check() and calls == [2]
