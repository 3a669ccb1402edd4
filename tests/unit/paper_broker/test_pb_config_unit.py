"""PaperBrokerConfig.from_env: PAPER_BROKER_* variables, overrides win, None ignored."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from paper_broker import PaperBrokerConfig
from paper_broker.broker import PaperBroker
from paper_broker.errors import ConfigError


def test_defaults_are_the_documented_demo_user() -> None:
    config = PaperBrokerConfig.from_env({})

    assert config == PaperBrokerConfig()
    assert (config.user_id, config.api_key, config.api_secret) == (
        "PAPER1",
        "paper",
        "paper-secret",
    )
    assert config.funds == Decimal(1_000_000)
    assert (config.host, config.port, config.clock) == ("127.0.0.1", 8001, "simulated")


def test_environment_is_parsed_into_types() -> None:
    config = PaperBrokerConfig.from_env(
        {
            "PAPER_BROKER_PORT": "9001",
            "PAPER_BROKER_SEED": "42",
            "PAPER_BROKER_FUNDS": "2500.50",
            "PAPER_BROKER_RATE_LIMITS": "false",
            "PAPER_BROKER_STATE_FILE": "var/paper.json",
            "PAPER_BROKER_CLOCK": "real",
            "OTHER_PORT": "1",
        }
    )

    assert config.port == 9001
    assert config.seed == 42
    assert config.funds == Decimal("2500.50")
    assert config.rate_limits is False
    assert config.state_file == Path("var/paper.json")
    assert config.clock == "real"


def test_overrides_win_and_none_is_ignored() -> None:
    config = PaperBrokerConfig.from_env(
        {"PAPER_BROKER_PORT": "9001", "PAPER_BROKER_SEED": "5"},
        port=9100,
        seed=None,
        funds="10",
        state_file="x.json",
    )

    assert (config.port, config.seed, config.funds) == (9100, 5, Decimal(10))
    assert config.state_file == Path("x.json")


def test_the_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPER_BROKER_USER_ID", "ZZ9999")

    assert PaperBrokerConfig.from_env().user_id == "ZZ9999"


def test_an_unknown_clock_is_refused() -> None:
    with pytest.raises(ValueError, match="clock"):
        PaperBrokerConfig(clock="lunar")


def test_postback_settings_come_from_the_environment() -> None:
    config = PaperBrokerConfig.from_env(
        {
            "PAPER_BROKER_POSTBACK_URL": "http://127.0.0.1:9000/hook",
            "PAPER_BROKER_POSTBACK_RETRIES": "2",
            "PAPER_BROKER_POSTBACK_BACKOFF": "0.25",
        }
    )

    assert config.postback_url == "http://127.0.0.1:9000/hook"
    assert config.postback_delays == (0.25, 0.5)
    assert PaperBrokerConfig().postback_url is None
    assert PaperBrokerConfig.from_env({"PAPER_BROKER_POSTBACK_URL": " "}).postback_url is None
    assert PaperBrokerConfig().postback_delays == (0.5, 1.0, 2.0)


def test_negative_postback_retries_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        PaperBrokerConfig(postback_retries=-1)


def test_a_replay_file_and_faults_come_from_the_environment() -> None:
    config = PaperBrokerConfig.from_env(
        {
            "PAPER_BROKER_PRICE_REPLAY": "var/prices.csv",
            "PAPER_BROKER_FAULTS": '[{"route": "place_order", "kind": "http_429", "count": 1}]',
        }
    )

    assert config.price_replay == Path("var/prices.csv")
    assert config.faults == ({"route": "place_order", "kind": "http_429", "count": 1},)
    assert PaperBrokerConfig.from_env({"PAPER_BROKER_FAULTS": " "}).faults == ()
    assert PaperBrokerConfig.from_env({"PAPER_BROKER_PRICE_REPLAY": ""}).price_replay is None


def test_command_line_faults_and_replay_file_win_over_the_environment() -> None:
    config = PaperBrokerConfig.from_env(
        {"PAPER_BROKER_FAULTS": '[{"kind": "reject"}]'},
        faults=[{"kind": "latency", "delay_ms": 5}],
        price_replay="prices.csv",
    )

    assert config.faults == ({"kind": "latency", "delay_ms": 5},)
    assert config.price_replay == Path("prices.csv")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("[{", "PAPER_BROKER_FAULTS is not JSON"),
        ('{"kind": "reject"}', "PAPER_BROKER_FAULTS must be a JSON list of faults"),
        ('["reject"]', "Fault 1 must be an object, not 'reject'"),
        (
            '[{"kind": "reject"}, {"kind": "meteor"}]',
            "Fault 2 ({'kind': 'meteor'}): Invalid `kind`",
        ),
        (
            '[{"kind": "reject", "count": 0}]',
            "Fault 1 ({'kind': 'reject', 'count': 0}): Invalid `count`",
        ),
    ],
)
def test_bad_faults_are_refused_as_the_admin_api_would(raw: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        PaperBrokerConfig.from_env({"PAPER_BROKER_FAULTS": raw})


def test_faults_from_the_configuration_are_installed_at_start() -> None:
    broker = PaperBroker(
        PaperBrokerConfig(faults=({"route": "orders", "kind": "http_429", "count": 2},))
    )

    (fault,) = broker.faults.dump()
    assert (fault["fault_id"], fault["route"], fault["kind"], fault["count"]) == (
        "fault-1",
        "orders",
        "http_429",
        2,
    )
    assert fault["probability"] == 1.0


def test_the_clock_starts_where_configured_and_restarts_there() -> None:
    config = PaperBrokerConfig.from_env({"PAPER_BROKER_CLOCK_START": "2026-03-02T10:00:00"})

    assert config.clock_start is not None
    assert config.clock_start.isoformat() == "2026-03-02T10:00:00+05:30"
    moment = PaperBroker(config).clock.now()
    assert moment - config.clock_start < timedelta(seconds=5)
    assert moment >= config.clock_start


def test_a_clock_start_that_is_no_moment_is_refused() -> None:
    with pytest.raises(ConfigError, match="CLOCK_START"):
        PaperBrokerConfig.from_env({"PAPER_BROKER_CLOCK_START": "tomorrow"})


def test_a_naive_clock_start_is_refused() -> None:
    with pytest.raises(ConfigError, match="timezone"):
        PaperBrokerConfig(clock_start=datetime(2026, 3, 2, 10, 0))  # noqa: DTZ001 - the point
