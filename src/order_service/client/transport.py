"""One request, sent again while the service says it took no effect: the retry loop."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from order_service.client.decoding import NotANumber, loads
from order_service.client.errors import (
    RETRYABLE_CODES,
    ClientError,
    TransportError,
    UnexpectedResponse,
    error_from_envelope,
)

# Errors that prove the request never left: safe to send again whatever it was.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait: ``Retry-After`` when the service names it, else an
    exponential backoff (``backoff`` doubled per attempt, capped, with jitter)."""

    retries: int = 3
    backoff: float = 0.25
    max_backoff: float = 8.0
    max_retry_after: float = 60.0  # a longer wait is the caller's to decide: raised
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = field(default=random.random)

    def delay(self, attempt: int) -> float:
        ceiling = min(self.max_backoff, self.backoff * float(2**attempt))
        return ceiling * (0.5 + self.jitter() / 2)


def send(
    policy: RetryPolicy,
    request: Callable[[], httpx.Response],
    *,
    resend_unanswered: bool,
) -> httpx.Response:
    """Send until an answer that is not a retryable refusal, or the retries run out.

    ``resend_unanswered``: a request whose answer was lost (read timeout, reset) may be sent
    again (reads, and placements under one idempotency key); other writes are not.
    """
    attempt = 0
    while True:
        try:
            response = request()
        except httpx.TransportError as exc:
            if attempt >= policy.retries or not (resend_unanswered or isinstance(exc, NOT_SENT)):
                raise TransportError(f"{type(exc).__name__}: {exc}") from exc
            policy.sleep(policy.delay(attempt))
            attempt += 1
            continue
        if response.is_success:
            return response
        error = error_of(response)
        wait = _wait_for(error, policy, attempt)
        if wait is None:
            raise error
        policy.sleep(wait)
        attempt += 1


def _wait_for(error: ClientError, policy: RetryPolicy, attempt: int) -> float | None:
    if attempt >= policy.retries or error.error_code not in RETRYABLE_CODES:
        return None
    if error.retry_after is None:
        return policy.delay(attempt)
    return error.retry_after if error.retry_after <= policy.max_retry_after else None


def error_of(response: httpx.Response) -> ClientError:
    """The typed error of an error answer (a body that is not the envelope: UnexpectedResponse)."""
    retry_after = _retry_after(response)
    try:
        body = loads(response.content)
    except ValueError:  # not JSON, or a NaN in it
        body = None
    envelope = body.get("error") if isinstance(body, dict) else None
    if not isinstance(envelope, dict):
        text = response.text[:200]
        return UnexpectedResponse(
            f"HTTP {response.status_code}: {text}", status=response.status_code
        )
    return error_from_envelope(envelope, response.status_code, retry_after)


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (the service sends delta-seconds); absent or a date: None."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 <= seconds < float("inf") else None


def decode(response: httpx.Response) -> Any:
    """The JSON of a successful answer, money as Decimal; NaN or Infinity: UnexpectedResponse."""
    try:
        return loads(response.content)
    except NotANumber as exc:
        raise UnexpectedResponse(f"refused a number: {exc}", status=response.status_code) from exc
    except ValueError as exc:
        raise UnexpectedResponse(
            f"the answer is not JSON: {exc}", status=response.status_code
        ) from exc
