"""Outbound webhooks: JSON bodies signed with HMAC-SHA256, refused towards private networks (SSRF guard)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from mamori.integrations.errors import DeliveryError

SIGNATURE_HEADER = "X-Mamori-Signature"
PERMANENT_STATUSES = (400, 401, 403, 404, 405, 410, 422)


def signature(key: bytes, body: bytes) -> str:
    """`sha256=<hex>` over the raw body, as receivers compute it to check a delivery."""
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable unicast: not private, loopback, link-local, shared (100.64/10), reserved or multicast."""
    return address.is_global and not address.is_multicast


def check_url(url: str, *, allow_private: bool) -> str | None:
    """Refuse non-http(s) URLs and, unless allowed, hosts resolving to loopback, link-local or private addresses.

    Returns the checked address to connect to (None when private addresses are allowed): connecting by the
    host name instead would resolve it again, and a short-lived DNS answer could then point somewhere else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError(f"not an http(s) URL: {url!r}", permanent=True)
    if allow_private:
        return None
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except OSError as exc:
        raise DeliveryError(f"cannot resolve {parts.hostname}: {exc}") from None
    if not infos:
        raise DeliveryError(f"cannot resolve {parts.hostname}: no addresses")
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not is_public(address):
            raise DeliveryError(
                f"webhook host {parts.hostname} resolves to a non-public address ({address}); "
                "set MAMORI_ALLOW_PRIVATE_WEBHOOKS=1 to allow it",
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
    """POST `payload`; signs it when a key is given. Redirects are not followed (each hop would need checking)."""
    target, headers, extensions = pinned(url, check_url(url, allow_private=allow_private))
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    headers["Content-Type"] = "application/json"
    if key is not None:
        headers[SIGNATURE_HEADER] = signature(key, body)
    try:
        response = client.post(target, content=body, headers=headers, follow_redirects=False, extensions=extensions)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook {url}: {exc}") from None
    if response.is_redirect:
        raise DeliveryError(f"webhook {url} answered a redirect; configure the final URL", permanent=True)
    if not response.is_success:
        raise DeliveryError(
            f"webhook {url} answered HTTP {response.status_code}",
            permanent=response.status_code in PERMANENT_STATUSES,
        )
    return response.status_code


REDIRECTS = frozenset({301, 302, 303, 307, 308})


def get_checked(
    client: httpx.Client,
    url: str,
    *,
    allow_private: bool,
    headers: dict[str, str] | None = None,
    max_redirects: int = 5,
) -> httpx.Response:
    """GET `url`, following redirects by hand so that every hop passes `check_url` (a public feed must not
    bounce Mamori into its own network). Transport errors propagate as httpx errors."""
    target = url
    for _ in range(max_redirects + 1):
        pinned_url, pinned_headers, extensions = pinned(target, check_url(target, allow_private=allow_private))
        response = client.get(
            pinned_url, headers={**(headers or {}), **pinned_headers}, follow_redirects=False, extensions=extensions
        )
        if response.status_code in REDIRECTS and "location" in response.headers:
            target = str(httpx.URL(target).join(response.headers["location"]))  # relative to the name, not the pin
            continue
        return response
    raise DeliveryError(f"{url}: more than {max_redirects} redirects", permanent=True)
