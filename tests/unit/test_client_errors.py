"""Every code the service answers is raised as its own class, the tree mirroring the service's."""

from __future__ import annotations

import httpx
import pytest

from order_service import errors as service
from order_service.client import errors
from order_service.entrypoints.api.errors import status_for
from tests.unit.client_fakes import Script

CODES = [cls.code for cls in service.ALL_ERRORS if cls is not service.OrderServiceError]


def _answer(error: service.OrderServiceError) -> httpx.Response:
    body = {"error": {**error.to_dict(), "request_id": "req-7"}}
    return httpx.Response(status_for(error), json=body)


def _instance(cls: type[service.OrderServiceError]) -> service.OrderServiceError:
    if cls is service.RiskCheckFailed:
        return cls("max_order_value", "100000", "152050.00")
    return cls(f"{cls.code} message", details={"field": "price"})


@pytest.mark.parametrize("cls", service.ALL_ERRORS, ids=lambda cls: cls.code)
def test_each_envelope_is_raised_as_its_class(cls: type[service.OrderServiceError]) -> None:
    error = _instance(cls)
    script = Script(_answer(error))
    with pytest.raises(errors.ClientError) as raised:
        script.client(retries=0).get_order("01JORDER")
    got = raised.value
    assert type(got) is errors.BY_CODE.get(cls.code, errors.ClientError)
    assert got.error_code == cls.code
    assert got.message == error.message
    assert got.details == {k: _money(k, v) for k, v in error.details.items()}
    assert got.request_id == "req-7"
    assert got.status == status_for(error)
    assert got.retryable is error.retryable


def _money(key: str, value: object) -> object:
    from decimal import Decimal

    return Decimal(str(value)) if key in {"limit", "value"} else value


def test_every_code_of_the_service_has_its_class() -> None:
    assert set(CODES) <= set(errors.BY_CODE)


@pytest.mark.parametrize("cls", service.ALL_ERRORS[1:], ids=lambda cls: cls.code)
def test_the_tree_has_the_services_shape(cls: type[service.OrderServiceError]) -> None:
    parent = cls.__mro__[1]
    client_parent = errors.BY_CODE[cls.code].__mro__[1]
    expected = (
        errors.ClientError if parent is service.OrderServiceError else (errors.BY_CODE[parent.code])
    )
    assert client_parent is expected


def test_an_unknown_code_is_the_base_class_with_its_code() -> None:
    body = {"error": {"code": "SOMETHING_NEW", "message": "new", "details": {}, "request_id": "r"}}
    script = Script(httpx.Response(418, json=body))
    with pytest.raises(errors.ClientError) as raised:
        script.client().get_order("01JORDER")
    assert type(raised.value) is errors.ClientError
    assert raised.value.error_code == "SOMETHING_NEW"
    assert str(raised.value) == "SOMETHING_NEW: new (request r)"


def test_an_answer_that_is_not_the_envelope_is_unexpected() -> None:
    script = Script(httpx.Response(502, text="<html>bad gateway</html>"))
    with pytest.raises(errors.UnexpectedResponse) as raised:
        script.client().get_order("01JORDER")
    assert raised.value.status == 502
    assert len(script.requests) == 1  # a proxy's page is not the service saying "retry"


def test_a_risk_rejection_carries_its_rule() -> None:
    script = Script(_answer(service.RiskCheckFailed("fat_finger", "5", "12.5")))
    with pytest.raises(errors.RiskRejected) as raised:
        script.client().get_order("01JORDER")
    assert raised.value.details["rule"] == "fat_finger"
    assert isinstance(raised.value, errors.InvalidInput)


def test_an_id_cannot_reach_another_route() -> None:
    script = Script()
    client = script.client()
    for bad in ("../keys", "a/b", "..", "", "x?y=1", "a%2Fb", "a\\b"):
        with pytest.raises(ValueError, match="not an id"):
            client.get_order(bad)
    assert script.requests == []
