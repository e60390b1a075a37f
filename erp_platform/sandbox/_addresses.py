"""IP address forms and the classes of addresses the host refuses to connect to."""

from __future__ import annotations

import ipaddress
import re

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NUMERIC_PART = re.compile(r"^(0[xX][0-9a-fA-F]*|[0-9]+)$")

# Metadata endpoints of cloud providers that are not already covered by link-local / CGNAT / private.
_METADATA = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, DigitalOcean...
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
        ipaddress.ip_address("192.0.0.192"),  # Oracle Cloud (classic)
        ipaddress.ip_address("fd00:ec2::254"),  # AWS IPv6
    }
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")


def parse_ipv4_loose(host: str) -> ipaddress.IPv4Address | None:
    """Parse every IPv4 form ``inet_aton`` accepts: ``127.1``, ``0177.0.0.1``, ``0x7f.1``, ``2130706433``.

    Returns None when ``host`` is not made of 1-4 numeric parts (it is a name); raises ValueError when it
    is numeric but out of range (``256.1.1.1``), since resolvers disagree on such names.
    """
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMERIC_PART.match(p) for p in parts):
        return None
    values: list[int] = []
    for part in parts:
        if part[:2].lower() == "0x":
            values.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            if any(c in "89" for c in part):
                raise ValueError(f"{host!r} is not a valid IPv4 address (bad octal part {part!r})")
            values.append(int(part, 8))
        else:
            values.append(int(part))
    *head, last = values
    last_bits = 32 - 8 * len(head)
    if any(v > 255 for v in head) or last >= 1 << last_bits:
        raise ValueError(f"{host!r} is not a valid IPv4 address (a part is out of range)")
    number = 0
    for v in head:
        number = (number << 8) | v
    number = (number << last_bits) | last
    return ipaddress.IPv4Address(number)


def parse_ip_literal(host: str) -> IPAddress | None:
    """Return the address when ``host`` is an IP literal in any form (IPv6 with or without brackets)."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if ":" in bare:
        bare = bare.split("%", 1)[0]  # zone id: fe80::1%eth0
        try:
            return ipaddress.IPv6Address(bare)
        except ValueError as exc:
            raise ValueError(f"{host!r} is not a valid IPv6 address") from exc
    return parse_ipv4_loose(bare)


def refused_class(address: IPAddress) -> str | None:
    """Return why the host must not connect to ``address`` ("a loopback address", ...), or None."""
    if address in _METADATA:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = refused_class(embedded)
            return None if inner is None else f"{inner} (embedded in IPv6 {address})"
        return _refused_v6(address)
    return _refused_v4(address)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64 or address in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return address.sixtofour
    packed = int(address)
    if packed >> 32 == 0 and packed > 1:  # deprecated IPv4-compatible form ::a.b.c.d
        return ipaddress.IPv4Address(packed)
    return None


def _refused_v4(address: ipaddress.IPv4Address) -> str | None:
    if address.is_unspecified or address in _THIS_NETWORK:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address in _CGNAT:
        return "a carrier-grade NAT address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if address.is_reserved or not address.is_global:
        return "a reserved address"
    return None


def _refused_v6(address: ipaddress.IPv6Address) -> str | None:
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local or address.is_site_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if address.is_reserved or not address.is_global:
        return "a reserved address"
    return None
