"""The URLs sfmc_nb sends to: https everywhere but loopback, no credentials inside, redirects only in place."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urljoin, urlsplit

from .._rules import one_line
from ..errors import ConfigurationError

__all__ = ["is_loopback", "check_url", "has_credentials", "host_of", "shown_url", "redirect_target",
           "may_follow_redirect", "MAX_REDIRECTS"]

LOOPBACK_NAMES = {"localhost"}
MAX_REDIRECTS = 3
"""Redirects a read (GET) may follow in a row, each to the same host."""

_USERINFO = re.compile(r"(//)[^/?#@]*@")
_DEFAULT_PORTS = {"https": 443, "http": 80}


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def shown_url(url: object, limit: int = 200) -> str:
    """``url`` fit for a message: any ``user:password@`` removed, on one line, cut at ``limit`` characters."""
    return one_line(_USERINFO.sub(r"\1", str(url)), limit)


def _split(url: str) -> SplitResult | None:
    """The parts of ``url``, or ``None`` when it cannot be read (bad brackets or port)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    return parts


def has_credentials(url: str) -> bool:
    """True when ``url`` carries a ``user:password@`` part (also when the rest of it cannot be read)."""
    parts = _split(url)
    if parts is None:
        return "@" in url
    return parts.username is not None or parts.password is not None


def host_of(url: str) -> str:
    """``host`` or ``host:port`` of ``url``, never the user name or password some URLs carry."""
    parts = _split(url)
    if parts is None or not parts.hostname:
        return shown_url(url, 80)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{parts.port}" if parts.port is not None else host


AUTH_URL_EXAMPLE = "https://<subdomain>.auth.marketingcloudapis.com/"


def check_url(url: str, what: str, example: str | None = AUTH_URL_EXAMPLE) -> str:
    """Return ``url`` with a trailing slash, refusing credentials in it and plain http anywhere but loopback."""
    url = url.strip()
    parts = _split(url)
    if has_credentials(url):   # the URL itself is not echoed: any part of it might be the password
        host = f" (host {parts.hostname})" if parts is not None and parts.hostname else ""
        raise ConfigurationError(f"{what}{host} must not contain a user name or password: give the client id and "
                                 "secret as SFMC_CLIENT_ID / SFMC_CLIENT_SECRET (or client_id= / client_secret=)")
    if parts is None or parts.scheme not in ("https", "http") or not parts.hostname:
        expected = f"; expected e.g. {example!r}" if example else ""
        shown = f" {shown_url(url)!r}" if "@" not in url else ""   # '@' may follow a password
        raise ConfigurationError(f"{what}{shown} is not an http(s) URL{expected}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigurationError(f"{what} {shown_url(url)!r} uses plain http; Marketing Cloud hosts need https "
                                 "(http is allowed only for 127.0.0.1, localhost and ::1)")
    return url if url.endswith("/") else url + "/"


def redirect_target(base_url: str, location: str | None) -> str:
    """The absolute URL a redirect's ``Location`` points to (relative ones resolved against ``base_url``)."""
    return urljoin(base_url, (location or "").strip())


def _origin(parts: SplitResult) -> tuple[str, int | None]:
    return (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(parts.scheme)


def may_follow_redirect(from_url: str, to_url: str) -> bool:
    """A read may follow a redirect only to the same host and port, over https (plain http: loopback only)."""
    here, there = _split(from_url), _split(to_url)
    if here is None or there is None or there.username is not None or there.password is not None:
        return False
    if not there.hostname or _origin(here) != _origin(there):
        return False
    if there.scheme == "https":
        return True
    return there.scheme == "http" and here.scheme == "http" and is_loopback(there.hostname)
