"""Is a peer's address in a settings list of addresses and networks (``TRUSTED_PROXIES``,
``METRICS_ALLOWED_IPS``)? One rule for both: an address is a network of one, an IPv4-mapped
IPv6 peer (a dual-stack listener on ``[::]`` reports ``::ffff:a.b.c.d``) counts as its IPv4
address, and a malformed entry is logged once and ignored, never a 500."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from functools import lru_cache

logger = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            logger.warning("%r is not an IP address or network; ignored", entry)
    return tuple(networks)


def address_in(remote_addr: str, entries: Iterable[str]) -> bool:
    """True when ``remote_addr`` (``REMOTE_ADDR``) lies in one of ``entries``."""
    try:
        peer = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped:
        peer = peer.ipv4_mapped
    return any(peer in net for net in _networks(tuple(entries)))
