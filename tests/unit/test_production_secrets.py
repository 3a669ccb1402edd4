"""Production refuses to start on a secret anyone could guess, and never prints the value."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from order_service.adapters.broker.fake import FakeBroker
from order_service.bootstrap import bootstrap, demo_secret
from order_service.config import Settings, load_settings
from order_service.entrypoints.api.app import create_app
from order_service.errors import ConfigurationError
from tests.unit.fakes import FakeClock, FakeStore, FakeUnitOfWork

GOOD_KEY = secrets.token_urlsafe(32)
GOOD_JWT = secrets.token_urlsafe(32)
TEST_JWT = "test-jwt-secret-0123456789abcdef0123"


def production(tmp_path: Path, **secrets_: str) -> Settings:
    values = {"secret_key": GOOD_KEY, "jwt_secret": GOOD_JWT, **secrets_}
    return load_settings(
        mode="production", var_dir=str(tmp_path), database_url="sqlite+aiosqlite://", **values
    )


def start(settings: Settings) -> None:
    """Build the app as `serve` does, around fakes: the refusal comes before any adapter."""
    store, clock = FakeStore(), FakeClock()
    services = bootstrap(
        settings,
        uow_factory=lambda: FakeUnitOfWork(store),
        broker=FakeBroker(clock),
        clock=clock,
    )
    create_app(services)


def refusal(settings: Settings, variable: str, value: str) -> str:
    with pytest.raises(ConfigurationError) as caught:
        start(settings)
    message = str(caught.value)
    assert f"ORDER_SERVICE_{variable}" in message
    if value.strip():
        assert value.strip() not in message
    return message


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param(" ", "is missing", id="one-space"),
        pytest.param("", "is missing", id="empty"),
        pytest.param("  " + "k" * 16 + secrets.token_hex(7) + "  ", "shorter than 32", id="short"),
        pytest.param("changeme" * 5, "placeholder", id="changeme"),
        pytest.param("my-production-secret-" + secrets.token_hex(8), "placeholder", id="secret"),
        pytest.param(TEST_JWT, "published", id="our-tests-value"),
        pytest.param("test-" + secrets.token_urlsafe(32), "published", id="test-prefix"),
        pytest.param("ab" * 20, "too few characters", id="repetitive"),
    ],
)
@pytest.mark.parametrize("variable", ["SECRET_KEY", "JWT_SECRET"])
def test_production_refuses_a_guessable_secret(
    tmp_path: Path, variable: str, value: str, reason: str
) -> None:
    settings = production(tmp_path, **{variable.lower(): value})
    assert reason in refusal(settings, variable, value)


def test_production_refuses_a_missing_secret(tmp_path: Path) -> None:
    settings = load_settings(mode="production", var_dir=str(tmp_path), jwt_secret=GOOD_JWT)
    assert "ORDER_SERVICE_SECRET_KEY is missing" in refusal(settings, "SECRET_KEY", "")


@pytest.mark.parametrize(
    ("variable", "file"), [("SECRET_KEY", "secret-key"), ("JWT_SECRET", "jwt-secret")]
)
def test_production_refuses_the_demos_generated_secret(
    tmp_path: Path, variable: str, file: str
) -> None:
    generated = demo_secret(str(tmp_path), file)
    assert len(generated) >= 32  # long and random: only its origin gives it away
    settings = production(tmp_path, **{variable.lower(): generated})
    assert "demo's generated value" in refusal(settings, variable, generated)


def test_production_refuses_one_secret_in_both_roles(tmp_path: Path) -> None:
    settings = production(tmp_path, jwt_secret=GOOD_KEY)
    assert "are the same" in refusal(settings, "JWT_SECRET", GOOD_KEY)


def test_production_starts_with_two_long_random_secrets(tmp_path: Path) -> None:
    start(production(tmp_path))


def test_the_demo_needs_no_secrets(tmp_path: Path) -> None:
    start(load_settings(var_dir=str(tmp_path), database_url="sqlite+aiosqlite://"))


def test_a_bad_setting_is_named_without_echoing_its_value() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(port="s3cr3t-by-mistake")
    assert "ORDER_SERVICE_PORT" in str(caught.value)
    assert "s3cr3t-by-mistake" not in str(caught.value)


def test_old_secret_keys_are_read_comma_separated_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORDER_SERVICE_OLD_SECRET_KEYS", " first old key , second,, ")

    loaded = load_settings()

    assert [key.get_secret_value() for key in loaded.old_secret_keys] == ["first old key", "second"]
    assert "first old key" not in repr(loaded)  # secrets, as the current key is
