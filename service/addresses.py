"""Client addresses in one spelling, so blocks, limits and stored records all agree.

An address may reach the service as `::ffff:203.0.113.9` (IPv4 mapped into IPv6, from a dual-stack
socket), as `2001:DB8:0:0::1` (IPv6 written another way), or with a port from a proxy's
`X-Forwarded-For` hop (`198.51.100.20:5555`, `[2001:db8::1]:443`). Each becomes its one canonical
form before anything compares, hashes or stores it.
"""

from __future__ import annotations

import ipaddress
import re

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_BRACKETED = re.compile(r"\[([^\[\]]+)\](?::\d{1,5})?")
_IPV4_WITH_PORT = re.compile(r"(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}")
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


def parse_address(text: str) -> IPAddress | None:
    """Read an address, with or without a port or brackets; IPv4-mapped IPv6 gives the IPv4."""
    text = text.strip()
    bracketed = _BRACKETED.fullmatch(text)
    with_port = _IPV4_WITH_PORT.fullmatch(text)
    if bracketed:
        text = bracketed.group(1)
    elif with_port:
        text = with_port.group(1)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.scope_id:
            # A zone (`fe80::1%eth0`) names the server's interface, not the client.
            return ipaddress.IPv6Address(address.packed)
    return address


def normalize_address(text: str) -> str | None:
    """Give an address in its canonical spelling, or None when the text is not one."""
    address = parse_address(text)
    return None if address is None else str(address)


def normalize_network(text: str) -> IPNetwork:
    """Read a network (CIDR or one address); an IPv4-mapped IPv6 network gives the IPv4 one.

    Raises ValueError when the text is not a network.
    """
    network = ipaddress.ip_network(text.strip(), strict=False)
    if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(_MAPPED):
        base = ipaddress.IPv4Address(int(network.network_address) & 0xFFFFFFFF)
        return ipaddress.IPv4Network((base, network.prefixlen - 96))
    return network


def client_key(address: str, ipv6_prefix_length: int) -> str:
    """Name a client for flood marks, rate limits and sign-in throttling.

    An IPv4 client is its address; an IPv6 client is its network of `ipv6_prefix_length` bits
    (a /64 by default), since one subscriber gets a whole /64 and can rotate through it.
    """
    parsed = parse_address(address)
    if parsed is None:
        return address
    if isinstance(parsed, ipaddress.IPv6Address) and ipv6_prefix_length < 128:
        return str(ipaddress.IPv6Network((parsed, ipv6_prefix_length), strict=False))
    return str(parsed)


def in_any(address: str, networks: list[IPNetwork]) -> bool:
    """Tell whether an address, in any spelling, lies in one of the networks."""
    parsed = parse_address(address)
    return parsed is not None and any(
        parsed.version == network.version and parsed in network for network in networks
    )
