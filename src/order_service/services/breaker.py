"""A circuit breaker per account: stop calling a broker that keeps failing, then probe it."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from order_service.domain.ids import AccountId
from order_service.errors import BrokerUnavailable


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Closed → open after ``failures`` infrastructure failures in a row → half-open once
    ``cooldown`` has passed, when one trial call goes through: an answer closes it, a failure
    opens it again. Only infrastructure failures count; a refusal is an answer.
    """

    def __init__(
        self, account_id: AccountId, failures: int, cooldown: float, now: Callable[[], float]
    ) -> None:
        self._account_id = account_id
        self._threshold = failures
        self._cooldown = cooldown
        self._now = now
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False  # the half-open trial call is in flight

    @property
    def state(self) -> CircuitState:
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self._now() - self._opened_at < self._cooldown:
            return CircuitState.OPEN
        return CircuitState.HALF_OPEN

    def admit(self) -> bool:
        """Let a call through or fail fast; return True when the call is the half-open trial."""
        state = self.state
        if state is CircuitState.CLOSED:
            return False
        if state is CircuitState.HALF_OPEN and not self._trial:
            self._trial = True
            return True
        raise self._open_error()

    def admit_uncounted(self) -> None:
        """Let a call that neither probes nor counts (a preview) through while closed only."""
        if self.state is not CircuitState.CLOSED:
            raise self._open_error()

    def answered(self) -> None:
        """The broker answered (success or refusal): close the circuit."""
        self._failures, self._opened_at, self._trial = 0, None, False

    def failed(self) -> None:
        """Count an infrastructure failure; a failed trial, or one too many, opens the circuit."""
        self._failures += 1
        if self._opened_at is not None or self._failures >= self._threshold:
            self._opened_at = self._now()
        self._trial = False

    def release(self, trial: bool) -> None:
        """Free the trial slot of a call that never reached the broker."""
        if trial:
            self._trial = False

    def _open_error(self) -> BrokerUnavailable:
        assert self._opened_at is not None
        retry_after = max(self._opened_at + self._cooldown - self._now(), 0.0)
        why = f"not calling it for {retry_after:.1f} s" if retry_after else "one trial call is out"
        return BrokerUnavailable(
            f"circuit open: the broker failed {self._failures} times in a row for account "
            f"{self._account_id}; {why}",
            details={
                "account_id": self._account_id,
                "circuit": "open",
                "consecutive_failures": self._failures,
                "retry_after_seconds": round(retry_after, 3),
            },
        )
