"""Who is asking: the client's IP, believing X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

from flask import request

from service.addresses import IPNetwork, in_any, normalize_address


def client_ip(trusted_proxies: list[IPNetwork]) -> str:
    """Give the client's IP, canonically spelled: the socket peer, or behind trusted proxies
    the first address in X-Forwarded-For, from the right, that is not one of them.

    A hop may carry a port (`198.51.100.20:5555`, `[2001:db8::1]:443`) and an IPv4 client may
    show as IPv4-mapped IPv6 (`::ffff:203.0.113.9`); both are read as the plain address.
    """
    peer = normalize_address(request.remote_addr or "") or request.remote_addr or ""
    if not in_any(peer, trusted_proxies):
        return peer
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        address = normalize_address(hop)
        if address is None:
            return peer
        if not in_any(address, trusted_proxies):
            return address
    return peer
