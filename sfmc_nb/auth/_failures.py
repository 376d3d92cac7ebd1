"""Requests that got no HTTP answer, as :class:`~sfmc_nb.errors.TransportError` s that say what to check.

Whether the request left decides what may follow: a request that never left (connection refused, DNS, a proxy
that would not connect, a TLS handshake that failed) is safe to send again; one whose answer was lost may have
been carried out. The walk over an exception's causes follows only exceptions (``ssl.SSLError.reason`` and
friends are strings).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from types import TracebackType

import requests
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from .._rules import one_line
from ..errors import ConnectError, OutcomeUnknownError, TransportError
from ._scrub import hide_tokens

__all__ = ["never_sent", "transport_failure"]

_NOT_BUILT = (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
              requests.exceptions.InvalidHeader, requests.exceptions.InvalidJSONError)
_NO_CONNECTION = (NewConnectionError, NameResolutionError, ConnectTimeoutError, requests.exceptions.ConnectTimeout,
                  ConnectionRefusedError, requests.exceptions.ProxyError, socket.gaierror) + _NOT_BUILT
_HANDSHAKE_FRAMES = {"do_handshake", "_validate_conn"}   # ssl's handshake; urllib3's checks before the first byte
_BUILDING_FRAMES = {"putrequest", "putheader"}   # http.client checks the request line and headers before writing


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception behind it (cause, context, ``reason``, exception ``args``), each once."""
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        cur = stack.pop()
        if not isinstance(cur, BaseException) or id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        stack.extend([cur.__cause__, cur.__context__, getattr(cur, "reason", None), *cur.args])


def _tls_error(exc: BaseException) -> BaseException | None:
    """The TLS error behind ``exc`` (the innermost ``ssl`` one when there is one), else ``None``."""
    found = [e for e in _chain(exc) if isinstance(e, (ssl.SSLError, ssl.CertificateError,
                                                     requests.exceptions.SSLError))]
    inner = [e for e in found if isinstance(e, (ssl.SSLError, ssl.CertificateError))]
    return (inner or found or [None])[0]


def _raised_in(exc: BaseException, frames: set[str]) -> bool:
    """True when ``exc`` (or an exception behind it) was raised inside a function named in ``frames``."""
    for err in _chain(exc):
        tb: TracebackType | None = err.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_name in frames:
                return True
            tb = tb.tb_next
    return False


def _in_handshake(exc: BaseException) -> bool:
    """True when a TLS error was raised while the connection was being set up (before the request was written)."""
    return _raised_in(exc, _HANDSHAKE_FRAMES)


def _refused_by_http_client(exc: BaseException) -> bool:
    """True for http.client refusing a header or request line (a line break, text outside Latin-1) unsent."""
    return (isinstance(exc, ValueError) and not isinstance(exc, requests.exceptions.RequestException)
            and _raised_in(exc, _BUILDING_FRAMES))


def never_sent(exc: BaseException) -> bool:
    """True when a request failed before it could leave (so sending it again is safe)."""
    if _tls_error(exc) is not None and not isinstance(exc, requests.exceptions.ProxyError):
        return _in_handshake(exc)
    return _refused_by_http_client(exc) or any(isinstance(e, _NO_CONNECTION) for e in _chain(exc))


def _tls_reason(err: BaseException) -> str:
    reason = getattr(err, "verify_message", None) or getattr(err, "reason", None) or type(err).__name__
    return one_line(hide_tokens(str(reason)), 80)


def transport_failure(exc: BaseException, *, what: str, host: str, method: str, path: str,
                      read_timeout: float, changes_state: bool = True) -> TransportError:
    """The error for a request to ``host`` that got no answer: what happened, whether it left, what to check.

    ``changes_state=False`` marks a read (a history download, a status query): it changes nothing whether or not
    it arrived, so its error says it may simply be asked again instead of "may have been carried out".
    """
    fate = "the request may have been carried out" if changes_state else \
        "it only reads, so it changed nothing and may simply be asked again"
    if isinstance(exc, requests.exceptions.ProxyError):
        return ConnectError(f"{what}: could not get through the proxy to {host}: check HTTPS_PROXY / NO_PROXY "
                            "(and the proxy's own address); nothing was sent", method=method, path=path)
    tls = _tls_error(exc)
    if tls is not None and _in_handshake(exc):
        return ConnectError(f"{what}: TLS handshake with {host} failed ({_tls_reason(tls)}): check the certificate "
                            "/ a TLS-inspecting proxy (point REQUESTS_CA_BUNDLE at its CA bundle); nothing was sent",
                            method=method, path=path)
    if tls is not None:
        return OutcomeUnknownError(f"{what}: the TLS connection to {host} broke after the request was sent "
                                   f"({_tls_reason(tls)}); {fate}",
                                   method=method, path=path)
    if any(isinstance(e, (NameResolutionError, socket.gaierror)) for e in _chain(exc)):
        return ConnectError(f"{what}: could not resolve {host}: check the subdomain (SFMC_SUBDOMAIN / "
                            "SFMC_AUTH_BASE_URL) and the network's DNS; nothing was sent", method=method, path=path)
    if _refused_by_http_client(exc):
        return ConnectError(f"{what}: the request to {host} could not be built ({type(exc).__name__}): a header "
                            "(the access token included) holds a line break or a character outside Latin-1; nothing "
                            "was sent", method=method, path=path)
    if isinstance(exc, _NOT_BUILT):
        return ConnectError(f"{what}: the request to {host} could not be built ({type(exc).__name__}): check the "
                            "URL; nothing was sent", method=method, path=path)
    if isinstance(exc, requests.exceptions.ConnectTimeout) or any(
            isinstance(e, ConnectTimeoutError) and not isinstance(e, NewConnectionError) for e in _chain(exc)):
        return ConnectError(f"{what}: no connection to {host} in time: check the network, a firewall or "
                            "HTTPS_PROXY; nothing was sent", method=method, path=path)
    if never_sent(exc):
        return ConnectError(f"{what}: could not connect to {host} (connection refused): check the host and port "
                            "and that this network may reach it; nothing was sent", method=method, path=path)
    if isinstance(exc, requests.exceptions.Timeout):
        return OutcomeUnknownError(f"{what}: no answer from {host} within {read_timeout:g} s; {fate}",
                                   method=method, path=path)
    if not isinstance(exc, requests.exceptions.RequestException):
        return OutcomeUnknownError(f"{what}: the request to {host} failed ({type(exc).__name__}); {fate}",
                                   method=method, path=path)
    return OutcomeUnknownError(f"{what}: the connection to {host} was closed before the answer arrived; {fate}",
                               method=method, path=path)
