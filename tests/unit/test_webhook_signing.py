"""Webhook signatures and payload rules, checked against the standardwebhooks package."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from order_service.domain.feed import KNOWN_TYPES, TypeFilter, type_of
from order_service.domain.webhook import RetryPolicy, new_secret, sign, signed_headers
from order_service.errors import ValidationError

BODY = b'{"type":"order.accepted","timestamp":"2026-11-30T04:00:00+00:00","data":{}}'
AT = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)


def test_a_signature_is_the_one_the_reference_implementation_computes() -> None:
    secret = new_secret()
    ours = sign(secret, "msg_42", int(AT.timestamp()), BODY)
    theirs = Webhook(secret).sign("msg_42", AT, BODY.decode())
    assert ours == theirs


def test_the_headers_carry_id_timestamp_and_a_v1_signature() -> None:
    secret = new_secret()
    headers = signed_headers(secret, "msg_7", 1_790_000_000, BODY)
    assert headers["webhook-id"] == "msg_7"
    assert headers["webhook-timestamp"] == "1790000000"
    version, signature = headers["webhook-signature"].split(",")
    assert version == "v1"
    assert len(base64.b64decode(signature)) == 32  # an HMAC-SHA256


def test_a_changed_body_no_longer_matches_its_signature() -> None:
    secret = new_secret()
    signed = sign(secret, "msg_1", 1, BODY)
    assert Webhook(secret).sign("msg_1", datetime.fromtimestamp(1, UTC), "{}") != signed


def test_secrets_are_whsec_and_32_random_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    assert first != second


@pytest.mark.parametrize(
    ("name", "public"),
    [
        ("OrderAccepted", "order.accepted"),
        ("OrderOutcomeUnknown", "order.outcome_unknown"),
        ("OrderPartiallyFilled", "order.partially_filled"),
        ("ExternalOrderRecorded", "order.external_order_recorded"),
    ],
)
def test_event_names_become_dotted_types(name: str, public: str) -> None:
    assert type_of(name) == public
    assert public in KNOWN_TYPES


def test_a_type_filter_admits_only_the_named_types() -> None:
    wanted = TypeFilter.of(["order.filled", "order.cancelled"])
    assert wanted.admits("OrderFilled")
    assert wanted.admits("OrderCancelled")
    assert not wanted.admits("OrderAccepted")
    assert wanted.public == ["order.cancelled", "order.filled"]


def test_the_wildcard_admits_every_type() -> None:
    assert TypeFilter.of(["order.*"]).names is None
    assert TypeFilter.of(None).admits("AnythingAtAll")


def test_an_unknown_type_is_refused_naming_it() -> None:
    with pytest.raises(ValidationError) as caught:
        TypeFilter.of(["order.accepted", "order.teleported"])
    assert caught.value.details["field"] == "types"
    assert "order.teleported" in caught.value.message


def test_retry_pauses_double_up_to_the_maximum_scaled_by_jitter() -> None:
    policy = RetryPolicy(timedelta(seconds=5), timedelta(minutes=10), timedelta(hours=24))
    assert [policy.pause(n, 1.0).total_seconds() for n in (1, 2, 3)] == [5, 10, 20]
    assert policy.pause(40, 1.0) == timedelta(minutes=10)
    assert policy.pause(2, 0.5) == timedelta(seconds=5)
