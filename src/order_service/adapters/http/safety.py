"""Which URLs may receive webhooks: no server-side request forgery.

A receiver must be ``https`` in production, name a host, carry no credentials, and resolve
only to public addresses: loopback, private, link-local (cloud metadata at 169.254.169.254
among them), shared, reserved, multicast and unspecified addresses are refused, whichever way
they are written (a DNS name resolving to one, IPv6, an IPv4-mapped IPv6 address, decimal or
hex IPv4 forms, which the resolver reads as the address they encode). ``allow_private``
(the demo's default) admits all but unspecified and multicast addresses, for receivers on
the same machine.

The check resolves the name each time and hands back the addresses it approved, so that the
request is sent to one of them and not to whatever the name resolves to a moment later.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from order_service.errors import ValidationError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    require_https: bool
    allow_private: bool


@dataclass(frozen=True, slots=True)
class Target:
    """A vetted URL: its parts, and the addresses the request may go to."""

    url: str
    scheme: str
    host: str
    port: int
    path: str  # with the query
    addresses: tuple[IpAddress, ...]

    def pinned_url(self) -> str:
        """Return the URL with the first approved address in place of the host."""
        address = self.addresses[0]
        shown = f"[{address}]" if address.version == 6 else str(address)
        return f"{self.scheme}://{shown}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        default = DEFAULT_PORTS[self.scheme] == self.port
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if default else f"{name}:{self.port}"


async def vet(url: str, policy: UrlPolicy) -> Target:
    """Return the target of ``url``, or raise ``ValidationError`` saying what is wrong."""
    parts = _parts(url, policy)
    host = parts.hostname or ""
    port = _port(parts)
    addresses = await _resolve(host, port)
    for address in addresses:
        _refuse_address(host, address, policy)
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    return Target(url, parts.scheme, host, port, path, tuple(addresses))


def _parts(url: str, policy: UrlPolicy) -> SplitResult:
    if len(url) > MAX_URL_LENGTH or any(c.isspace() or ord(c) < 32 for c in url):
        raise _invalid("the URL is too long or holds whitespace or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise _invalid(f"the URL cannot be read: {exc}") from exc
    allowed = ("https",) if policy.require_https else ("https", "http")
    if parts.scheme not in allowed:
        raise _invalid(f"the URL must be {' or '.join(allowed)}")
    if not parts.hostname:
        raise _invalid("the URL names no host")
    if parts.username is not None or parts.password is not None:
        raise _invalid("the URL may not carry credentials")
    if parts.fragment:
        raise _invalid("the URL may not carry a fragment")
    return parts


def _port(parts: SplitResult) -> int:
    try:
        port = parts.port
    except ValueError as exc:
        raise _invalid("the URL's port is not a number from 1 to 65535") from exc
    if port == 0:
        raise _invalid("the URL's port is not a number from 1 to 65535")
    return port or DEFAULT_PORTS[parts.scheme]


async def _resolve(host: str, port: int) -> list[IpAddress]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise _invalid(f"the host {host!r} does not resolve") from exc
    addresses: list[IpAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise _invalid(f"the host {host!r} does not resolve")
    return addresses


def _refuse_address(host: str, address: IpAddress, policy: UrlPolicy) -> None:
    plain = _unmapped(address)
    if plain.is_unspecified or plain.is_multicast:
        raise _invalid(f"the host {host!r} resolves to {plain}, which cannot receive")
    if not policy.allow_private and not _is_public(plain):
        raise _invalid(f"the host {host!r} resolves to {plain}, a non-public address")


def _is_public(address: IpAddress) -> bool:
    return address.is_global and not any(address in network for network in _NOT_PUBLIC)


def _unmapped(address: IpAddress) -> IpAddress:
    """Return the IPv4 address an IPv6 form carries (mapped, compatible, translated, 6to4 or
    NAT64), else itself."""
    if not isinstance(address, ipaddress.IPv6Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if not (address.is_loopback or address.is_unspecified) and any(
        address in network for network in _CARRY_IPV4
    ):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


# Forms whose last 32 bits are an IPv4 address; the standard library calls them all global.
_CARRY_IPV4 = (
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible (deprecated; ::1 and :: are in it too)
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated (SIIT)
)
# Never public, though the standard library says global: local-use NAT64 and site-local.
_NOT_PUBLIC = (ipaddress.IPv6Network("64:ff9b:1::/48"), ipaddress.IPv6Network("fec0::/10"))


def _invalid(message: str) -> ValidationError:
    return ValidationError(f"webhook url refused: {message}", field="url")
