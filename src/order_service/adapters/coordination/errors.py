"""The refusal every rate budget raises when the earliest slot is beyond the caller's wait."""

from __future__ import annotations

from order_service.domain.budget import Bucket
from order_service.domain.ids import AccountId
from order_service.errors import RateLimitError


def budget_spent(account_id: AccountId, bucket: Bucket, delay: float) -> RateLimitError:
    """Return the error for a request whose slot is ``delay`` seconds away."""
    return RateLimitError(
        f"the {bucket.value} budget of account {account_id} is spent; retry in {delay:.2f} s",
        retry_after=delay,
        details={"account_id": account_id, "bucket": bucket.value},
    )
