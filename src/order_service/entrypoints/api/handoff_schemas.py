"""Bodies of the handoff routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, StrictBool

from order_service.domain.handoff import Handoff
from order_service.entrypoints.api.schemas import Identifier, StrictModel


class HandoffIn(StrictModel):
    account_id: Identifier
    strategy_id: Identifier | None = None
    trigger: Literal["to_script", "to_manual"]
    force: StrictBool = False


class HandoffStepOut(BaseModel):
    name: str
    at: datetime
    data: dict[str, Any]


class HandoffOut(BaseModel):
    handoff_id: str
    account_id: str
    strategy_id: str | None
    trigger: str
    from_mode: str
    target_mode: str
    status: str
    force: bool
    requested_by: str
    failure: str | None
    created_at: datetime
    updated_at: datetime
    deadline: datetime
    steps: list[HandoffStepOut]

    @classmethod
    def of(cls, handoff: Handoff) -> HandoffOut:
        return cls(
            handoff_id=handoff.handoff_id,
            account_id=handoff.account_id,
            strategy_id=handoff.strategy_id,
            trigger=handoff.trigger.value,
            from_mode=handoff.from_mode.value,
            target_mode=handoff.target_mode.value,
            status=handoff.status.value,
            force=handoff.force,
            requested_by=handoff.requested_by,
            failure=handoff.failure,
            created_at=handoff.created_at,
            updated_at=handoff.updated_at,
            deadline=handoff.deadline,
            steps=[HandoffStepOut(name=s.name, at=s.at, data=s.data) for s in handoff.steps],
        )
