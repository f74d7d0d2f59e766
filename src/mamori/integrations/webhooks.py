"""Outbound webhooks: JSON bodies signed with HMAC-SHA256, refused towards private networks (SSRF guard)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from mamori.integrations.errors import DeliveryError

SIGNATURE_HEADER = "X-Mamori-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
PERMANENT_STATUSES = (400, 401, 403, 404, 405, 410, 422)


def signature(key: bytes, body: bytes) -> str:
    """`sha256=<hex>` over the raw body, as receivers compute it to check a delivery."""
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.ip_network("64:ff9b::/96")
SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
METADATA = (
    ipaddress.ip_network("169.254.0.0/16"),  # link-local, where cloud metadata services answer (169.254.169.254)
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS's IPv6 metadata endpoint
)
"""Never reachable, even when private webhooks are allowed: a webhook URL must not read instance credentials."""


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (IPv4-mapped, NAT64 64:ff9b::/96, 6to4 2002::/16), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in SIX_TO_FOUR:
        return address.sixtofour
    return None


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast: not private, loopback, link-local, shared (100.64/10), reserved or multicast,
    and not an IPv6 form (NAT64, 6to4, IPv4-mapped, Teredo) of an address that is not."""
    inner = embedded_ipv4(address)
    if inner is not None and not is_public(inner):
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.teredo is not None:
        return False
    return address.is_global and not address.is_multicast


def is_metadata(address: IPAddress) -> bool:
    inner = embedded_ipv4(address)
    return any(address in net for net in METADATA if net.version == address.version) or (
        inner is not None and is_metadata(inner)
    )


def check_url(url: str, *, allow_private: bool) -> str | None:
    """Refuse non-http(s) URLs and, unless allowed, hosts resolving to loopback, link-local or private addresses;
    link-local and cloud metadata addresses are refused even when private addresses are allowed.

    Returns the checked address to connect to: connecting by the host name instead would resolve it again,
    and a short-lived DNS answer could then point somewhere else. With private addresses allowed, a name
    that does not resolve here is left to the HTTP client (None)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError(f"not an http(s) URL: {url!r}", permanent=True)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except OSError as exc:
        if allow_private:
            return None
        raise DeliveryError(f"cannot resolve {parts.hostname}: {exc}") from None
    if not infos:
        if allow_private:
            return None
        raise DeliveryError(f"cannot resolve {parts.hostname}: no addresses")
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not allow_private and not is_public(address):
            raise DeliveryError(
                f"webhook host {parts.hostname} resolves to a non-public address ({address}); "
                "set MAMORI_ALLOW_PRIVATE_WEBHOOKS=1 to allow it",
                permanent=True,
            )
        if is_metadata(address):
            raise DeliveryError(
                f"webhook host {parts.hostname} resolves to a link-local or cloud metadata address ({address}), "
                "which Mamori never contacts",
                permanent=True,
            )
    return str(infos[0][4][0]).split("%", 1)[0]


def pinned(url: str, address: str | None) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The URL with its host replaced by the checked address, plus the Host header and, for https, the TLS
    server name (certificates are still verified for the host name), so the connection goes where it was
    checked to go. Unchanged when there is no address to pin."""
    parts = urlsplit(url)
    if address is None or parts.hostname is None:
        return url, {}, {}
    host = f"[{address}]" if ":" in address else address
    userinfo, _, hostport = parts.netloc.rpartition("@")
    netloc = (userinfo + "@" if userinfo else "") + (host if parts.port is None else f"{host}:{parts.port}")
    extensions: dict[str, Any] = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return urlunsplit(parts._replace(netloc=netloc)), {"Host": hostport}, extensions


def post_json(
    client: httpx.Client, url: str, payload: dict[str, Any], *, allow_private: bool, key: bytes | None = None
) -> int:
    """POST `payload` (signed when a key is given) and return the final HTTP status; see `deliver_json`."""
    return deliver_json(client, url, payload, allow_private=allow_private, key=key)[0]


def post_checked(
    client: httpx.Client, url: str, body: bytes, *, headers: Mapping[str, str], allow_private: bool
) -> httpx.Response:
    """One POST of an encoded body (a metrics payload sized for its sink) to a URL from configuration,
    through the same guard as webhooks: http(s) only, no private or loopback address unless allowed, never
    link-local or metadata, the connection pinned to the checked address, no redirects followed. The answer
    is returned as it came (the caller's sink knows its rate-limit headers); DeliveryError when refused."""
    address = check_url(url, allow_private=allow_private)
    pinned_url, host_headers, extensions = pinned(url, address)
    return client.post(
        pinned_url, content=body, headers={**headers, **host_headers}, follow_redirects=False, extensions=extensions
    )


MAX_POST_REDIRECTS = 5
RE_POST = frozenset({301, 302, 307, 308})
"""Redirects a webhook follows by POSTing the same body again (a webhook re-sent as GET delivers nothing)."""


def deliver_json(
    client: httpx.Client,
    url: str,
    payload: dict[str, Any],
    *,
    allow_private: bool,
    key: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, str]:
    """POST `payload` to `url`; returns (status, the URL that took it).

    The one webhook policy of Mamori: every hop, the first and each redirect target, passes `check_url`
    (http(s) only; no private, loopback or link-local address unless allowed) and the connection goes to the
    address that was checked; 301/302/307/308 are followed by POSTing the same body, at most five times;
    303 and other 3xx are errors. Errors name the hop that failed. `headers` (an `Idempotency-Key`, say) go
    with every hop; they cannot replace the ones this policy sets."""
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    target = url
    for _ in range(MAX_POST_REDIRECTS + 1):
        try:
            address = check_url(target, allow_private=allow_private)
        except DeliveryError as exc:
            raise DeliveryError(f"{target}: {exc}", permanent=exc.permanent) from None
        pinned_url, hop_headers, extensions = pinned(target, address)
        hop_headers = {**(headers or {}), **hop_headers, "Content-Type": "application/json"}
        if key is not None:
            hop_headers[SIGNATURE_HEADER] = signature(key, body)
        try:
            response = client.post(
                pinned_url, content=body, headers=hop_headers, follow_redirects=False, extensions=extensions
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook {target}: {exc}") from None
        if response.status_code in RE_POST and "location" in response.headers:
            target = str(httpx.URL(target).join(response.headers["location"]))  # against the name, not the pin
            continue
        if response.is_redirect:
            raise DeliveryError(
                f"webhook {target} answered HTTP {response.status_code}; configure the final URL", permanent=True
            )
        if not response.is_success:
            raise DeliveryError(
                f"webhook {target} answered HTTP {response.status_code}",
                permanent=response.status_code in PERMANENT_STATUSES,
            )
        return response.status_code, target
    raise DeliveryError(f"{url}: more than {MAX_POST_REDIRECTS} redirects", permanent=True)


REDIRECTS = frozenset({301, 302, 303, 307, 308})


def get_checked(
    client: httpx.Client,
    url: str,
    *,
    allow_private: bool,
    headers: dict[str, str] | None = None,
    max_redirects: int = 5,
    max_bytes: int | None = None,
) -> httpx.Response:
    """GET `url`, following redirects by hand so that every hop passes `check_url` (a public feed must not
    bounce Mamori into its own network). Transport errors propagate as httpx errors.

    With `max_bytes`, the body is read as it streams and the download stops (TooLarge) the moment it
    passes the limit, whatever Content-Length claims, so a huge feed is never held in memory whole."""
    target = url
    for _ in range(max_redirects + 1):
        pinned_url, pinned_headers, extensions = pinned(target, check_url(target, allow_private=allow_private))
        request = client.build_request(
            "GET", pinned_url, headers={**(headers or {}), **pinned_headers}, extensions=extensions
        )
        response = client.send(request, follow_redirects=False, stream=True)
        try:
            if response.status_code in REDIRECTS and "location" in response.headers:
                target = str(httpx.URL(target).join(response.headers["location"]))  # relative to the name, not the pin
                continue
            _read_limited(response, url, max_bytes)
            return response
        finally:
            response.close()
    raise DeliveryError(f"{url}: more than {max_redirects} redirects", permanent=True)


class TooLarge(DeliveryError):
    """A download that passed its size limit; it was stopped, not read to the end."""


def _read_limited(response: httpx.Response, url: str, max_bytes: int | None) -> None:
    """Read the body into `response` (so `.content` works after the stream closes), stopping past `max_bytes`."""
    if max_bytes is None:
        response.read()
        return
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge(f"{url}: larger than {max_bytes} bytes (Content-Length {declared})", permanent=True)
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(f"{url}: larger than {max_bytes} bytes (stopped reading)", permanent=True)
        chunks.append(chunk)
    response._content = b"".join(chunks)
