"""Which hosts newskb may contact: a server-side request forgery (SSRF) guard.

Feed URLs, their redirects and article links come from the open internet, so a
hostile feed could point newskb at the machine it runs on (``127.0.0.1``, an
admin port on the LAN, the cloud metadata service at ``169.254.169.254`` that
hands out credentials). Every URL is checked *after* DNS resolution, on every
address the name resolves to, and the fetcher then connects to the checked
address itself (see :class:`Target`), so a DNS answer that changes between
check and connect (DNS rebinding) cannot swap in a forbidden address.

Non-public addresses are refused unless the user allows them with the config
key ``allow_hosts`` or the environment variable ``KB_ALLOW_HOSTS`` (comma-
separated host names, addresses or CIDR ranges, e.g. ``127.0.0.1``).
Cloud metadata addresses are refused even inside an allowed range; only an
entry naming exactly that address lets one through.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

ENV_ALLOW_HOSTS = "KB_ALLOW_HOSTS"
ALLOWED_SCHEMES = ("http", "https")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Instance metadata services: AWS/GCP/Azure/OpenStack (169.254.169.254), AWS IPv6
# (fd00:ec2::254), AWS ECS task metadata (169.254.170.2), Alibaba (100.100.100.200),
# Oracle (192.0.0.192).
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200", "192.0.0.192")
)


class HostRefused(Exception):
    """A URL newskb will not fetch; ``kind`` is ``bad_scheme``, ``bad_url`` or ``refused_host``."""

    def __init__(self, message: str, kind: str = "refused_host") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to one of ``addresses`` (never re-resolve ``host``)."""

    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def address_category(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public internet address (e.g. ``"loopback"``), or None if it is."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        return address_category(embedded)  # ::ffff:127.0.0.1 is loopback too
    if ip in METADATA_ADDRESSES:
        return "cloud metadata"
    checks = (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        # is_global is False for what the flags above miss, e.g. 100.64.0.0/10 (carrier NAT).
        ("non-public", not ip.is_global),
    )
    return next((name for name, hit in checks if hit), None)


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)


def _parse_allow_entry(entry: str) -> IPNetwork | str:
    """An allow-list entry as a network (address or CIDR) or a lower-cased host name."""
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return entry.lower().rstrip(".")


@dataclass(frozen=True)
class HostPolicy:
    """The allow list, and the checks every fetched URL passes.

    >>> HostPolicy.from_config(["127.0.0.1"]).check_url("http://127.0.0.1:8000/feed.xml").port
    8000
    """

    allow_hosts: tuple[str, ...] = ()
    _networks: tuple[IPNetwork, ...] = field(init=False, repr=False, compare=False)
    _names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parsed = [_parse_allow_entry(e.strip()) for e in self.allow_hosts if e.strip()]
        object.__setattr__(self, "_networks", tuple(p for p in parsed if not isinstance(p, str)))
        object.__setattr__(self, "_names", frozenset(p for p in parsed if isinstance(p, str)))

    @classmethod
    def from_config(
        cls, allow_hosts: Iterable[str] = (), environ: Mapping[str, str] | None = None
    ) -> HostPolicy:
        """The config key ``allow_hosts`` plus the comma-separated ``KB_ALLOW_HOSTS``."""
        env = os.environ if environ is None else environ
        from_env = env.get(ENV_ALLOW_HOSTS, "").split(",")
        return cls(tuple(e.strip() for e in [*allow_hosts, *from_env] if e.strip()))

    def refusal(self, host: str, ip: IPAddress) -> str | None:
        """Why connecting to ``ip`` (resolved from ``host``) is refused, or None when allowed."""
        category = address_category(ip)
        if category is None:
            return None
        if category == "cloud metadata":
            exact = any(n.num_addresses == 1 and ip in n for n in self._networks)
            allowed = exact or host.lower().rstrip(".") in self._names
        else:
            allowed = host.lower().rstrip(".") in self._names or any(
                ip in n for n in self._networks if n.version == ip.version
            )
        if allowed:
            return None
        return (
            f"refused host {host} ({ip} is a {category} address; "
            f"allow it with {ENV_ALLOW_HOSTS} or allow_hosts)"
        )

    def check_url(self, url: str) -> Target:
        """The resolved, checked :class:`Target` for ``url``; raises :class:`HostRefused`."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as e:
            raise HostRefused(f"bad URL {url!r}: {e}", "bad_url") from None
        scheme = parts.scheme.lower()
        if scheme not in ALLOWED_SCHEMES:
            raise HostRefused(
                f"refused URL scheme {scheme or '(none)'!r} in {url!r}: only http and https",
                "bad_scheme",
            )
        host = parts.hostname
        if not host:
            raise HostRefused(f"bad URL {url!r}: no host", "bad_url")
        port = port or (443 if scheme == "https" else 80)
        addresses = resolve(host, port)
        for ip in addresses:
            reason = self.refusal(host, ipaddress.ip_address(ip))
            if reason:
                raise HostRefused(reason)
        return Target(scheme, host, port, addresses)


def resolve(host: str, port: int) -> tuple[str, ...]:
    """Every address ``host`` resolves to, in resolver order (literals pass through)."""
    try:
        return (str(ipaddress.ip_address(host)),)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise HostRefused(f"cannot resolve host {host}: {e}", "network") from None
    # sockaddr[0] may carry an IPv6 zone ("fe80::1%eth0"); the zone is not part of the address.
    return tuple(dict.fromkeys(info[4][0].split("%")[0] for info in infos))
