"""Circuit breaker state machine, driven by a fake clock."""

from __future__ import annotations

import pytest

from moontv.sources.breaker import BreakerRegistry, CircuitBreaker


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def changes() -> list[tuple[str, str, str]]:
    return []


@pytest.fixture
def breaker(clock: FakeClock, changes: list[tuple[str, str, str]]) -> CircuitBreaker:
    return CircuitBreaker("src", clock=clock, on_change=lambda *change: changes.append(change))


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        assert breaker.allow()
        breaker.record_failure()


def test_starts_closed_and_allows(breaker: CircuitBreaker) -> None:
    assert breaker.state == "closed"
    assert all(breaker.allow() for _ in range(100))


def test_opens_after_five_consecutive_failures(
    breaker: CircuitBreaker, changes: list[tuple[str, str, str]]
) -> None:
    fail(breaker, 4)
    assert breaker.state == "closed"
    assert breaker.consecutive_failures == 4
    fail(breaker, 1)
    assert breaker.state == "open"
    assert not breaker.allow()
    assert changes == [("src", "closed", "open")]


def test_success_resets_the_consecutive_count(breaker: CircuitBreaker) -> None:
    fail(breaker, 4)
    breaker.record_success()
    fail(breaker, 4)
    assert breaker.state == "closed"
    fail(breaker, 1)
    assert breaker.state == "open"


def test_neutral_outcomes_neither_count_nor_reset(breaker: CircuitBreaker) -> None:
    fail(breaker, 4)
    for _ in range(10):
        assert breaker.allow()
        breaker.release()
    assert breaker.consecutive_failures == 4
    fail(breaker, 1)
    assert breaker.state == "open"


def test_half_open_after_cooldown_allows_exactly_one_trial(
    breaker: CircuitBreaker, clock: FakeClock, changes: list[tuple[str, str, str]]
) -> None:
    fail(breaker, 5)
    clock.advance(29.9)
    assert breaker.state == "open"
    assert not breaker.allow()
    clock.advance(0.1)
    assert breaker.state == "half_open"
    assert breaker.allow()  # the trial
    assert not breaker.allow()
    assert not breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.allow()
    assert changes == [
        ("src", "closed", "open"),
        ("src", "open", "half_open"),
        ("src", "half_open", "closed"),
    ]


def test_failed_trial_reopens_with_exponential_cooldown_capped(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    fail(breaker, 5)
    cooldowns = []
    for _ in range(6):
        cooldowns.append(breaker.info()["cooldown"])
        clock.advance(cooldowns[-1] - 0.01)
        assert not breaker.allow()
        clock.advance(0.01)
        assert breaker.allow()
        breaker.record_failure()
        assert breaker.state == "open"
    assert cooldowns == [30, 60, 120, 240, 300, 300]
    assert breaker.info()["trips"] == 7


def test_success_after_trips_resets_cooldown(breaker: CircuitBreaker, clock: FakeClock) -> None:
    fail(breaker, 5)
    clock.advance(30)
    fail(breaker, 1)  # failed trial: cooldown 60
    clock.advance(60)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.info() == {
        "state": "closed",
        "consecutive_failures": 0,
        "trips": 0,
        "cooldown": 30,
        "retry_in": 0.0,
    }
    fail(breaker, 5)
    assert breaker.info()["cooldown"] == 30


def test_released_trial_lets_the_next_request_try(breaker: CircuitBreaker, clock: FakeClock) -> None:
    fail(breaker, 5)
    clock.advance(30)
    assert breaker.allow()
    assert not breaker.allow()
    breaker.release()  # e.g. the trial was cancelled
    assert breaker.state == "half_open"
    assert breaker.allow()


def test_a_trial_that_never_reports_expires(clock: FakeClock) -> None:
    breaker = CircuitBreaker("src", clock=clock, trial_timeout=10)
    fail(breaker, 5)
    clock.advance(30)
    assert breaker.allow()
    clock.advance(9.9)
    assert not breaker.allow()
    clock.advance(0.1)
    assert breaker.allow()


def test_stale_results_while_open_are_ignored(breaker: CircuitBreaker, clock: FakeClock) -> None:
    fail(breaker, 5)
    breaker.record_success()  # a request that started before the trip
    assert breaker.state == "open"
    breaker.record_failure()
    clock.advance(30)
    assert breaker.state == "half_open"  # the cooldown was not extended


def test_info_reports_time_until_retry(breaker: CircuitBreaker, clock: FakeClock) -> None:
    fail(breaker, 5)
    clock.advance(12.5)
    info = breaker.info()
    assert info["state"] == "open"
    assert info["retry_in"] == 17.5
    assert info["consecutive_failures"] == 5


def test_custom_threshold_and_cooldown(clock: FakeClock) -> None:
    breaker = CircuitBreaker("s", failure_threshold=2, cooldown=5, max_cooldown=12, clock=clock)
    fail(breaker, 2)
    assert breaker.state == "open"
    clock.advance(5)
    fail(breaker, 1)
    clock.advance(10)
    fail(breaker, 1)
    assert breaker.info()["cooldown"] == 12


@pytest.mark.parametrize(
    "kwargs",
    [{"failure_threshold": 0}, {"cooldown": 0}, {"cooldown": 10, "max_cooldown": 5}],
)
def test_invalid_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker("s", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        BreakerRegistry(**kwargs)  # type: ignore[arg-type]


def test_callback_errors_do_not_break_the_breaker(clock: FakeClock) -> None:
    def explode(*_: str) -> None:
        raise RuntimeError("metrics are down")

    breaker = CircuitBreaker("s", clock=clock, on_change=explode)
    fail(breaker, 5)
    assert breaker.state == "open"


def test_reset(breaker: CircuitBreaker) -> None:
    fail(breaker, 5)
    breaker.reset()
    assert breaker.state == "closed"
    assert breaker.info()["trips"] == 0


def test_registry_keeps_one_breaker_per_key(clock: FakeClock) -> None:
    changes: list[tuple[str, str, str]] = []
    registry = BreakerRegistry(failure_threshold=2, clock=clock, on_change=lambda *c: changes.append(c))
    assert registry.get("a") is registry.get("a")
    assert registry.get("a") is not registry.get("b")
    fail(registry.get("a"), 2)
    snapshot = registry.snapshot()
    assert set(snapshot) == {"a", "b"}
    assert snapshot["a"]["state"] == "open"
    assert snapshot["b"]["state"] == "closed"
    assert changes == [("a", "closed", "open")]
    clock.advance(30)
    assert registry.snapshot()["a"]["state"] == "half_open"
    registry.reset("a")
    assert registry.snapshot()["a"]["state"] == "closed"
    fail(registry.get("b"), 2)
    registry.reset()
    assert {info["state"] for info in registry.snapshot().values()} == {"closed"}
