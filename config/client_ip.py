"""The client's address for per-client limits (the login lock, the API throttles).

Without trusted proxies it is the TCP peer (``REMOTE_ADDR``), never a header a client can
write. When the peer is one of ``FORWARDED_ALLOW_IPS`` (the reverse proxy, which appends the
address it saw to ``X-Forwarded-For``), the client is the right-most hop of that header that is
not itself a trusted proxy: the left-most entries are whatever the client chose to send.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted_proxies(entries: list[str]) -> tuple[Network, ...]:
    """``FORWARDED_ALLOW_IPS`` as networks (a bare address is a /32 or /128); raises on a bad
    entry. ``*`` (gunicorn's "trust everyone") is refused: it would let any client name its
    own address."""
    networks = []
    for entry in entries:
        if entry == "*":
            raise ImproperlyConfigured(
                "FORWARDED_ALLOW_IPS='*' would trust X-Forwarded-For from anyone; "
                "name the proxy's addresses or networks."
            )
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(f"FORWARDED_ALLOW_IPS: {entry!r} is not an address or network") from exc
    return tuple(networks)


@lru_cache(maxsize=8)
def _trusted(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_trusted_proxies(list(entries))


def _is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request) -> str | None:
    """The address per-client limits count against (see the module docstring)."""
    peer = request.META.get("REMOTE_ADDR")
    networks = _trusted(tuple(settings.FORWARDED_ALLOW_IPS))
    if not peer or not networks or not _is_trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if not _is_trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                # Garbage the proxy passed on: the hops left of it are the client's own words.
                return peer
    return peer
