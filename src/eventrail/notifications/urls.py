"""Which receiver addresses a webhook may have (SSRF defence).

Only ``http`` and ``https`` URLs with a host, without user info. Unless the
operator sets ``EVENTRAIL_NOTIFY_ALLOW_PRIVATE``, a literal address is checked at
registration, and at delivery the host name is resolved once per connection and
every address it resolves to is checked: all of them must be public
(``is_global``, IPv4-mapped IPv6 unwrapped, the IPv4 address of a 6to4 one
checked, and not reserved, site-local, nor in the shared 100.64.0.0/10 nor NAT64
64:ff9b::/96 ranges). The connection then goes to one of those very
addresses (``notifications/transport.py``), never to a second resolution's.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import SplitResult, urlsplit

_EXTRA_DENIED = (
    ipaddress.ip_network("100.64.0.0/10"),
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
)

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses to connect to, in the order to try them (OSError when
# the name cannot be resolved): the system's resolver, or a test's.
Resolver = Callable[[str, int], Sequence[IpAddress]]


class BlockedAddress(Exception):
    """The receiver's address is not a public one (and private ones are not allowed)."""


def is_public(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif address.sixtofour is not None:  # 2002::/16 carries an IPv4 address
            return is_public(address.sixtofour)
        elif address.is_site_local:  # fec0::/10: deprecated, still private where used
            return False
    if any(address in net for net in _EXTRA_DENIED):
        return False
    # Reserved: the IETF blocks ``is_global`` lets through (e.g. ::/8, where the
    # IPv4-compatible ::a.b.c.d and translated ::ffff:0:a.b.c.d forms live).
    return address.is_global and not address.is_multicast and not address.is_reserved


def _literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_url(url: str, *, allow_private: bool) -> str | None:
    """Why ``url`` cannot be a webhook's address, or None when it can."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return "must not hold spaces or control characters"
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "only http and https URLs are allowed"
    if not parts.hostname:
        return "the URL has no host"
    if parts.username is not None or parts.password is not None:
        return "user info in the URL is not allowed (use webHookHeaders)"
    if port == 0:
        return "port 0 is not allowed"
    if parts.fragment:
        return "a fragment (#...) is not allowed"
    if allow_private:
        return None
    host = parts.hostname.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return "a private or loopback address is not allowed"
    literal = _literal(host)
    if literal is None:
        # A decimal, octal or hex IPv4 in disguise ("2130706433", "0x7f.1"): refused.
        if all(label.isdigit() or label.startswith("0x") for label in host.split(".")):
            return "a numeric host must be a dotted IPv4 or an IPv6 address"
        return None
    if not is_public(literal):
        return "a private or loopback address is not allowed"
    return None


def system_resolver(host: str, port: int) -> list[IpAddress]:
    """The addresses ``getaddrinfo`` gives for ``host`` (each once, in its order)."""
    found: list[IpAddress] = []
    for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def checked_addresses(
    host: str, port: int, resolver: Resolver, *, allow_private: bool
) -> list[IpAddress]:
    """The addresses to connect to for ``host``: resolved once (a literal address is
    not resolved) and, unless private ones are allowed, every one of them public;
    else BlockedAddress."""
    literal = _literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = list(resolver(host, port))
        except OSError as exc:
            raise BlockedAddress(f"host not resolved ({type(exc).__name__})") from None
    if not addresses:
        raise BlockedAddress("host not resolved (no address)")
    if not allow_private and not all(is_public(a) for a in addresses):
        raise BlockedAddress("the host resolves to a private or reserved address")
    return addresses
