"""The SQLite runner: one connection thread, writes held to commit, nothing left open."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from order_service.adapters.db.crypto import SecretCipher
from order_service.adapters.db.engine import create_engine
from order_service.adapters.db.migrate import upgrade_async
from order_service.adapters.db.tables import accounts
from order_service.adapters.db.unit_of_work import sql_uow_factory
from order_service.domain.ids import AccountId
from tests.integration.db.conftest import build_account

pytestmark = pytest.mark.asyncio


async def test_a_cancelled_unit_of_work_leaves_no_transaction_behind(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/runner.db"
    await upgrade_async(url)
    engine = create_engine(url)
    factory = sql_uow_factory(engine, SecretCipher("key"))
    gate = factory._gate
    assert gate is not None
    try:
        gate.thread.submit(time.sleep, 0.3)  # keep the thread busy so the next call waits

        async def write_then_read() -> None:
            async with factory() as uow:
                await uow.accounts.add(build_account(account_id=AccountId("ZZ0001")))
                await uow.accounts.get(AccountId("ZZ0001"))  # flushes the write, then reads
                await uow.commit()

        task = asyncio.create_task(write_then_read())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        async with asyncio.timeout(5), factory() as uow:  # the gate is free again
            await uow.accounts.add(build_account(account_id=AccountId("ZZ0002")))
            await uow.commit()
        await asyncio.to_thread(lambda: gate.thread.submit(lambda: None).result())
        assert gate.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        async with engine.connect() as connection:
            rows = (await connection.execute(select(accounts.c.account_id))).scalars().all()
        assert rows == ["ZZ0002"]  # the cancelled write was rolled back
    finally:
        await factory.close()
        await engine.dispose()
