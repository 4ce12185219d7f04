"""Per-source circuit breaker: stop calling an upstream that keeps failing, probe it again later.

closed --(failure_threshold consecutive failures)--> open --(cooldown elapsed)--> half_open
half_open --(trial succeeds)--> closed;  half_open --(trial fails)--> open with a doubled cooldown
(capped at ``max_cooldown``). Only failures of the upstream itself count (timeouts, network errors,
5xx, unparseable bodies); an empty result is a success. Single event loop use: no locking.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Literal

__all__ = ["BreakerRegistry", "CircuitBreaker", "State", "StateCallback"]

State = Literal["closed", "open", "half_open"]
# on_change(source_key, old_state, new_state)
StateCallback = Callable[[str, str, str], None]

CLOSED: State = "closed"
OPEN: State = "open"
HALF_OPEN: State = "half_open"

logger = logging.getLogger(__name__)


class CircuitBreaker:
    """The health state of one source. Call :meth:`allow` before a request and then exactly one of
    :meth:`record_success`, :meth:`record_failure` or :meth:`release` (neutral outcome / cancelled)."""

    def __init__(
        self,
        key: str,
        *,
        failure_threshold: int = 5,
        cooldown: float = 30.0,
        max_cooldown: float = 300.0,
        trial_timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_change: StateCallback | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be >= 1")
        if cooldown <= 0 or max_cooldown < cooldown:
            raise ValueError("need 0 < cooldown <= max_cooldown")
        self.key = key
        self.failure_threshold = failure_threshold
        self.base_cooldown = cooldown
        self.max_cooldown = max_cooldown
        # A trial whose caller never reports back (e.g. a bug) must not pin the breaker half-open forever.
        self.trial_timeout = trial_timeout if trial_timeout is not None else max_cooldown
        self._clock = clock
        self._on_change = on_change
        self._state: State = CLOSED
        self._failures = 0
        self._trips = 0
        self._cooldown = cooldown
        self._opened_at = 0.0
        self._trial_started: float | None = None

    # --- queries ------------------------------------------------------------------------------------

    @property
    def state(self) -> State:
        self._refresh()
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def info(self) -> dict[str, Any]:
        """A JSON-friendly snapshot (for admin pages, health checks and logs)."""
        state = self.state
        retry_in = max(0.0, self._opened_at + self._cooldown - self._clock()) if state == OPEN else 0.0
        return {
            "state": state,
            "consecutive_failures": self._failures,
            "trips": self._trips,
            "cooldown": self._cooldown,
            "retry_in": round(retry_in, 3),
        }

    # --- request protocol ---------------------------------------------------------------------------

    def allow(self) -> bool:
        """May a request go out now? In half-open state this reserves the single trial slot."""
        self._refresh()
        if self._state == CLOSED:
            return True
        if self._state == OPEN:
            return False
        now = self._clock()
        if self._trial_started is not None and now - self._trial_started < self.trial_timeout:
            return False
        self._trial_started = now
        return True

    def record_success(self) -> None:
        self._refresh()
        if self._state == OPEN:
            return  # a request that started before the trip: stale evidence
        self._failures = 0
        if self._state == HALF_OPEN:
            self._trips = 0
            self._cooldown = self.base_cooldown
            self._trial_started = None
            self._set_state(CLOSED)

    def record_failure(self) -> None:
        self._refresh()
        if self._state == OPEN:
            return
        self._failures += 1
        if self._state == HALF_OPEN:
            self._cooldown = min(self._cooldown * 2, self.max_cooldown)
            self._trip()
        elif self._failures >= self.failure_threshold:
            self._trip()

    def release(self) -> None:
        """Neither success nor failure (cancelled, HTTP 4xx, 429): frees the trial slot, nothing else."""
        self._refresh()
        if self._state == HALF_OPEN:
            self._trial_started = None

    def reset(self) -> None:
        """Forget all history (e.g. after the admin edited the source)."""
        self._failures = 0
        self._trips = 0
        self._cooldown = self.base_cooldown
        self._trial_started = None
        self._set_state(CLOSED)

    # --- internals ----------------------------------------------------------------------------------

    def _trip(self) -> None:
        self._trips += 1
        self._opened_at = self._clock()
        self._trial_started = None
        self._set_state(OPEN)

    def _refresh(self) -> None:
        if self._state == OPEN and self._clock() - self._opened_at >= self._cooldown:
            self._set_state(HALF_OPEN)

    def _set_state(self, new: State) -> None:
        old, self._state = self._state, new
        if old == new or self._on_change is None:
            return
        try:
            self._on_change(self.key, old, new)
        except Exception:
            logger.exception("breaker state callback failed for source %r", self.key)


class BreakerRegistry:
    """One :class:`CircuitBreaker` per source key, created on first use with shared settings."""

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        cooldown: float = 30.0,
        max_cooldown: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: StateCallback | None = None,
    ) -> None:
        self._settings: dict[str, Any] = {
            "failure_threshold": failure_threshold,
            "cooldown": cooldown,
            "max_cooldown": max_cooldown,
            "clock": clock,
            "on_change": on_change,
        }
        CircuitBreaker("settings-check", **self._settings)  # fail fast on bad settings
        self._breakers: dict[str, CircuitBreaker] = {}

    def get(self, key: str) -> CircuitBreaker:
        breaker = self._breakers.get(key)
        if breaker is None:
            breaker = self._breakers[key] = CircuitBreaker(key, **self._settings)
        return breaker

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {key: breaker.info() for key, breaker in self._breakers.items()}

    def reset(self, key: str | None = None) -> None:
        """Reset one source (or all) to closed."""
        targets = (
            self._breakers.values() if key is None else [b for k, b in self._breakers.items() if k == key]
        )
        for breaker in targets:
            breaker.reset()
