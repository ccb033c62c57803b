"""Which URLs the server may fetch: a guard against server-side request forgery (SSRF).

By default only public addresses are fetched. Loopback, private, link-local (cloud metadata lives
there), multicast, reserved and unspecified addresses are refused unless the host or address is in
OCR_URL_ALLOWLIST, or the URL's origin is the configured Label Studio or S3 endpoint. Every address a
name resolves to is checked, and the fetcher connects to the address that was checked, so a DNS
answer that changes between check and connect cannot get around it; redirects are checked hop by hop.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from ocrserver.errors import FetchFailed, InvalidRequest, OcrServerError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud metadata endpoints that are not covered by "link-local" (AWS's IPv6 one, Alibaba's).
METADATA_ADDRESSES = {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")}


class UrlNotAllowed(OcrServerError):
    status, code = 403, "url_not_allowed"


@dataclass(frozen=True)
class Target:
    """A URL that passed the guard, and the address to connect to."""

    url: str
    host: str
    address: str


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def origin_of(url: str) -> tuple[str, str, int] | None:
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    return scheme, parts.hostname.lower(), parts.port or _default_port(scheme)


def why_blocked(address: IPAddress) -> str | None:
    """The reason an address is not public, or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return why_blocked(address.ipv4_mapped)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    checks = (
        ("loopback", address.is_loopback),
        ("link-local (cloud metadata lives there)", address.is_link_local),
        ("private", address.is_private),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
        ("not globally routable", not address.is_global),
    )
    for name, hit in checks:
        if hit:
            return f"a {name} address"
    return None


class UrlGuard:
    def __init__(self, allowlist: list[str], trusted_origins: list[str]) -> None:
        self.hosts: set[str] = set()
        self.networks: list[IPNetwork] = []
        for entry in allowlist:
            entry = entry.strip().lower()
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(entry.strip("[]"))
        self.trusted = {origin for origin in (origin_of(url) for url in trusted_origins if url) if origin}

    def check(self, url: str) -> Target:
        """Resolve ``url``'s host and return where to connect. Raises InvalidRequest for anything but an http(s) URL
        with a host, UrlNotAllowed (naming the setting that opens it) for an address the server must not reach."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        # bad input rather than a refused address (no setting opens these): 422, not 403
        if scheme not in ("http", "https"):
            raise InvalidRequest(f"Only http(s) URLs can be fetched, not {scheme or 'this'}:// URLs.")
        if not host:
            raise InvalidRequest("The URL has no host: send http(s)://host/path.")
        port = parts.port or _default_port(scheme)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchFailed(f"Cannot resolve the host {host!r}: {exc}. Check the URL.") from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))
        if (scheme, host, port) in self.trusted or host in self.hosts:
            return Target(url=url, host=host, address=str(addresses[0]))
        for address in addresses:
            reason = why_blocked(address)
            if reason and not any(address in network for network in self.networks):
                shown = host if host == str(address) else f"{host} ({address})"
                raise UrlNotAllowed(
                    f"Refusing to fetch from {shown}: it is {reason}. If this host is meant to be reachable, "
                    f"add it (or its network, e.g. {address}/32) to OCR_URL_ALLOWLIST."
                )
        return Target(url=url, host=host, address=str(addresses[0]))
