"""Fencing: a worker's writes for an account carry the token of the lease it holds.

A worker process that pauses (a long collection, a frozen VM, SIGSTOP) may wake after its
lease expired and another process took the account over under a newer token; its pass would
then overwrite the new owner's work. So each per-account task runs inside ``fenced()``: a
context variable holds (account, token), and the unit of work's ``commit()`` checks it in the
same transaction. The database keeps the newest token each account has seen (a new owner
raises it before it starts: ``fence_raiser``) and refuses a commit under an older one with
``StaleLease``, so the late write rolls back.

A process that owns every account (one process on SQLite) holds no tokens: nothing is fenced
there. API requests never run inside ``fenced()``: a placement is not a worker's to fence.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from order_service.domain.ids import AccountId
from order_service.errors import StaleLease
from order_service.services.ownership import Ownership, OwnEveryAccount
from order_service.services.ports import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class Fence:
    """The lease a unit of work writes under: its commit is refused once ``token`` is stale."""

    account_id: AccountId
    token: int


@runtime_checkable
class Leaseholder(Protocol):
    """An ``Ownership`` made of leases: each owned account has a token, and work in progress."""

    def owns(self, account_id: AccountId) -> bool: ...

    def token(self, account_id: AccountId) -> int | None:
        """Return the fencing token of the account's lease while it is held, else None."""
        ...

    def working(self, account_id: AccountId) -> AbstractContextManager[None]:
        """Mark the account's work in progress, so its lease is not handed over meanwhile."""
        ...


_FENCE: ContextVar[Fence | None] = ContextVar("order_service_fence", default=None)
_OWNERSHIP: ContextVar[Ownership | None] = ContextVar("order_service_ownership", default=None)
_EVERY_ACCOUNT = OwnEveryAccount()

FenceRaiser = Callable[[AccountId, int], Awaitable[None]]


def current_fence() -> Fence | None:
    """Return the fence of the per-account task running now (None outside one)."""
    return _FENCE.get()


@contextmanager
def fenced(ownership: Ownership, account_id: AccountId) -> Iterator[None]:
    """Run the block as the account's owner: its commits carry the lease's fencing token.

    Raises ``StaleLease`` at once when this process does not own the account. While the
    block runs, the lease is not given up to balance the processes' shares.
    """
    if not ownership.owns(account_id):
        raise StaleLease(
            f"this process does not hold the lease of account {account_id}",
            details={"account_id": account_id},
        )
    if not isinstance(ownership, Leaseholder):
        yield
        return
    token = ownership.token(account_id)
    if token is None:  # owns() says held, so a token exists; refuse rather than write unfenced
        raise StaleLease(f"the lease of account {account_id} has no token")
    with ownership.working(account_id), fence_of(Fence(account_id, token)):
        yield


@contextmanager
def fence_of(fence: Fence) -> Iterator[None]:
    """Make ``fence`` the current fence for the block (``fenced`` is what workers use)."""
    reset = _FENCE.set(fence)
    try:
        yield
    finally:
        _FENCE.reset(reset)


def stale(fence: Fence) -> StaleLease:
    """Return the refusal of a commit under ``fence`` once a newer token has been granted."""
    return StaleLease(
        f"account {fence.account_id} has a newer lease than token {fence.token}",
        details={"account_id": fence.account_id, "token": fence.token},
    )


def fence_raiser(uow_factory: UnitOfWorkFactory) -> FenceRaiser:
    """Return how a new lease raises the account's fence to its token before any work starts.

    An empty unit of work committed under the fence does it: the commit's fence check stores
    the token, so writes under any older token are refused from then on (``StaleLease`` if a
    newer token already wrote).
    """

    async def raise_fence(account_id: AccountId, token: int) -> None:
        with fence_of(Fence(account_id, token)):
            async with uow_factory() as uow:
                await uow.commit()

    return raise_fence


@contextmanager
def working_for(ownership: Ownership) -> Iterator[None]:
    """Make ``ownership`` the one the per-account fan-out consults in this context."""
    reset = _OWNERSHIP.set(ownership)
    try:
        yield
    finally:
        _OWNERSHIP.reset(reset)


def worker_ownership() -> Ownership:
    """Return the ownership set by ``working_for``; outside it, every account is this process's."""
    return _OWNERSHIP.get() or _EVERY_ACCOUNT
