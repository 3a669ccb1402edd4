"""Webhook URLs: only public https receivers in production, however the address is written."""

from __future__ import annotations

import pytest

from order_service.adapters.http.safety import UrlPolicy, vet
from order_service.errors import ValidationError

pytestmark = pytest.mark.asyncio

PRODUCTION = UrlPolicy(require_https=True, allow_private=False)
DEMO = UrlPolicy(require_https=False, allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",  # a DNS name resolving to loopback
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://172.16.5.4/hook",
        "https://100.64.0.1/hook",  # shared (carrier-grade NAT)
        "https://169.254.169.254/latest/meta-data",  # cloud metadata (link-local)
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://[fd00:ec2::254]/hook",  # a cloud's IPv6 metadata (unique local)
        "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped IPv6
        "https://[::ffff:169.254.169.254]/hook",
        "https://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
        "https://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
        "https://2130706433/hook",  # 127.0.0.1 written as one decimal number
        "https://0x7f000001/hook",  # and in hex
        "https://0177.0.0.1/hook",  # and in octal
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
    ],
)
async def test_non_public_addresses_are_refused_in_production(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        await vet(url, PRODUCTION)
    assert caught.value.details["field"] == "url"


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.215.14/hook",  # plain http
        "ftp://93.184.215.14/hook",
        "https://user:pass@93.184.215.14/hook",
        "https:///hook",
        "https://93.184.215.14:0/hook",
        "https://93.184.215.14:99999/hook",
        "https://93.184.215.14/hook#fragment",
        "https://93.184.215.14/ho ok",
        "https://no-such-host.invalid/hook",
        "not a url",
        "https://" + "a" * 2100 + ".com/",
    ],
)
async def test_malformed_or_plain_urls_are_refused_in_production(url: str) -> None:
    with pytest.raises(ValidationError):
        await vet(url, PRODUCTION)


async def test_a_public_https_address_is_accepted_and_pinned() -> None:
    target = await vet("https://93.184.215.14:8443/hook?x=1", PRODUCTION)
    assert target.pinned_url() == "https://93.184.215.14:8443/hook?x=1"
    assert target.host_header == "93.184.215.14:8443"


async def test_an_ipv6_target_is_pinned_in_brackets() -> None:
    target = await vet("https://[2606:4700::1111]/hook", PRODUCTION)
    assert target.pinned_url() == "https://[2606:4700::1111]:443/hook"
    assert target.host_header == "[2606:4700::1111]"


async def test_the_demo_admits_a_receiver_on_this_machine() -> None:
    target = await vet("http://localhost:9000/hook", DEMO)
    assert all(address.is_loopback for address in target.addresses)
    assert target.host_header == "localhost:9000"


@pytest.mark.parametrize("url", ["http://0.0.0.0/hook", "http://[ff02::1]/hook"])
async def test_even_the_demo_refuses_addresses_that_cannot_receive(url: str) -> None:
    with pytest.raises(ValidationError):
        await vet(url, DEMO)
