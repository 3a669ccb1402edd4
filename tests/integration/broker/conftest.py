"""Broker adapter fixtures: a local Kite stand-in that records every request it is sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.broker.local_kite import LocalKite


@pytest.fixture
def local_kite() -> Iterator[tuple[LocalKite, str]]:
    kite = LocalKite()
    url = kite.start()
    yield kite, url
    kite.stop()
