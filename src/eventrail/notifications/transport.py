"""The HTTP transport of notification requests: every connection goes to an address
checked when the host name was resolved.

Left to itself, ``httpx`` resolves the URL's host when it connects. A check of the
addresses made before, with a resolution of its own, leaves a window: a DNS
server that answers a public address to the check and a private one to the
connect (DNS rebinding) would lead the request into the network. Here the
connection's network backend does both steps on one answer: it resolves the host
once (``resolver``), refuses unless every address is allowed
(``urls.checked_addresses``: ``BlockedAddress``), and opens the TCP connection to
one of those very addresses, trying them in order within the connect timeout.
Everything else stays the URL's: the ``Host`` header, TLS SNI and the
certificate's verification use the host name, as for any request. A connection
kept alive is reused for the same scheme, host and port; it goes to the address
checked when it was opened.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable

import httpcore
import httpx

from eventrail.notifications.urls import Resolver, checked_addresses


class PinnedBackend(httpcore.NetworkBackend):
    """``httpcore``'s sockets, connected to a checked address of the host."""

    def __init__(self, resolver: Resolver, *, allow_private: bool) -> None:
        self._resolver = resolver
        self._allow_private = allow_private
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = checked_addresses(host, port, self._resolver, allow_private=self._allow_private)
        deadline = None if timeout is None else time.monotonic() + timeout
        failure: Exception = httpcore.ConnectTimeout("no time left to connect")
        for address in addresses:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            try:
                # A literal address: getaddrinfo does not ask a DNS server for it.
                return self._sockets.connect_tcp(
                    str(address), port, left, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("notifications are not sent over Unix sockets")

    def sleep(self, seconds: float) -> None:
        self._sockets.sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    """``httpx``'s HTTP/1.1 transport (no proxy), its pool on a ``PinnedBackend``."""

    def __init__(
        self,
        resolver: Resolver,
        *,
        allow_private: bool,
        limits: httpx.Limits,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        context = httpx.create_ssl_context(verify=verify, trust_env=False)
        super().__init__(verify=context, trust_env=False, limits=limits)
        # The pool httpx built is replaced by one on the pinned backend (httpx offers
        # no parameter for it); request and response handling stay httpx's.
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=PinnedBackend(resolver, allow_private=allow_private),
        )
