"""Fault selection: route matching, counts and seeded probabilities."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import paper_broker.routes
from paper_broker.errors import ConfigError, InputError
from paper_broker.faults import ROUTES, Faults, parse_fault_spec


def test_a_fault_matches_its_route_or_any_route_with_a_star() -> None:
    faults = Faults(seed=1)
    faults.add({"route": "orders", "kind": "http_429"})

    assert faults.pick("trades") is None
    picked = faults.pick("orders")
    assert picked is not None
    assert picked.kind == "http_429"
    faults.add({"route": "*", "kind": "latency", "delay_ms": 5})
    trades = faults.pick("trades")
    assert trades is not None
    assert trades.kind == "latency"


def test_count_is_consumed() -> None:
    faults = Faults(seed=1)
    faults.add({"route": "profile", "kind": "reject", "count": 2})

    assert [faults.pick("profile") is not None for _ in range(4)] == [True, True, False, False]


def test_rms_rejections_only_apply_to_placements() -> None:
    faults = Faults(seed=1)
    faults.add({"route": "*", "kind": "rms_reject"})

    assert faults.pick("orders") is None
    assert faults.pick("place_order") is not None


def test_probabilities_are_reproducible_under_a_seed() -> None:
    def pattern(seed: int) -> list[bool]:
        faults = Faults(seed)
        faults.add({"route": "*", "kind": "http_429", "probability": 0.3})
        return [faults.pick("orders") is not None for _ in range(200)]

    assert pattern(1) == pattern(1)
    assert pattern(1) != pattern(2)
    assert 30 < sum(pattern(1)) < 90


def test_clear_and_dump() -> None:
    faults = Faults(seed=1)
    first = faults.add({"route": "orders", "kind": "html_502", "message": "x"})

    assert faults.dump()[0]["fault_id"] == first.fault_id == "fault-1"
    faults.clear()
    assert faults.dump() == []
    assert faults.pick("orders") is None


KITE_CALL = re.compile(r'kite_call\("([a-z_]+)"')


@pytest.mark.parametrize(
    "spec",
    [
        {"route": "orders", "kind": "melt"},
        {"route": "everything", "kind": "latency"},
        {"route": "orders", "kind": "latency", "probability": -0.1},
        {"route": "orders", "kind": "latency", "probability": "half"},
        {"route": "orders", "kind": "latency", "count": 0},
        {"route": "orders", "kind": "latency", "delay_ms": True},
        {"route": "orders", "kind": "latency", "colour": "red"},
        {"route": "orders", "kind": "error", "error_type": "no spaces allowed"},
        {"route": "orders", "kind": "error", "status": 99},
        {"route": "orders", "kind": "error", "status": 600},
    ],
)
def test_bad_specs(spec: dict[str, object]) -> None:
    with pytest.raises(InputError):
        Faults(seed=1).add(spec)


def test_an_error_fault_carries_its_type_and_status() -> None:
    fault = Faults(seed=1).add(
        {"route": "gtt", "kind": "error", "error_type": "MarginException", "status": 400}
    )

    assert (fault.error_type, fault.status) == ("MarginException", 400)
    assert Faults(seed=1).add({"kind": "empty_json"}).error_type == "GeneralException"


def test_every_route_of_the_api_can_take_a_fault() -> None:
    sources = Path(paper_broker.routes.__file__).parent.glob("*.py")
    names = {name for path in sources for name in KITE_CALL.findall(path.read_text())}

    assert names
    assert names <= ROUTES


def test_a_command_line_spec_becomes_the_admin_api_body() -> None:
    spec = parse_fault_spec(
        "kind=reject, route=place_order,probability=0.25,count=2,delay_ms=10,"
        "message=Blocked, try later.,error_type=OrderException,status=400"
    )

    assert spec == {
        "kind": "reject",
        "route": "place_order",
        "probability": 0.25,
        "count": 2,
        "delay_ms": 10,
        "message": "Blocked, try later.",
        "error_type": "OrderException",
        "status": 400,
    }
    assert Faults(seed=1).add(spec).message == "Blocked, try later."


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind", "expected name=value, not 'kind'"),
        ("=http_429", "expected name=value, not '=http_429'"),
        ("kind=http_429,kind=reject", "`kind` is given twice"),
        ("kind=http_429,count=many", "`count` must be a number, not 'many'"),
        ("kind=http_429,count=1.5", "`count` must be a number, not '1.5'"),
        ("kind=http_429,colour=red", "Unknown fault fields: colour."),
        ("kind=http_430", "Invalid `kind`."),
        ("kind=latency,probability=2", "Invalid `probability`."),
        ("route=nowhere,kind=latency", "Invalid `route`."),
    ],
)
def test_a_malformed_command_line_spec_is_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"Fault {text!r}: {message}")):
        parse_fault_spec(text)
