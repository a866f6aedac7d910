"""Who is asking: the client's IP, believing X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

import ipaddress

from flask import request


def client_ip(trusted_proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> str:
    """Give the client's IP: the socket peer, or behind trusted proxies the first address
    in X-Forwarded-For, from the right, that is not one of them."""
    peer = request.remote_addr or ""
    if not _is_trusted(peer, trusted_proxies):
        return peer
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer
        if not _is_trusted(hop, trusted_proxies):
            return hop
    return peer


def _is_trusted(
    address: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
