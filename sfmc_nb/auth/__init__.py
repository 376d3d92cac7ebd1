"""Logging in: credentials, the access-token cache, and what the network may and may not be trusted with.

* ``_credentials``: :class:`Credentials` from arguments, ``SFMC_*`` environment variables, ``.env``
  (python-dotenv) or a prompt; the secret held only in a :class:`Secret`, from the moment it is read.
* ``_tokens``: :class:`TokenManager` (one token reused, refreshed early, one request in flight) and the strict
  reading of the token answer (:class:`Token`).
* ``_urls``: https everywhere but loopback, no ``user:password@`` in a URL, redirects followed only in place.
* ``_scrub``: access tokens masked in every message and log record (:func:`hide_tokens`).
* ``_failures``: a request that got no answer as a :class:`~sfmc_nb.errors.TransportError` that says whether
  it left and what to check (certificate, proxy, DNS, host).
"""

from __future__ import annotations

from ._credentials import ENV_NAMES, Credentials, Secret, read_dotenv
from ._failures import never_sent, transport_failure
from ._scrub import hide_tokens
from ._tokens import DEFAULT_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME, Token, TokenManager, token_lifetime
from ._urls import (
    MAX_REDIRECTS,
    check_url,
    has_credentials,
    host_of,
    is_loopback,
    may_follow_redirect,
    redirect_target,
    shown_url,
)

__all__ = ["Secret", "Credentials", "TokenManager", "Token", "check_url", "read_dotenv", "is_loopback",
           "never_sent", "transport_failure", "ENV_NAMES", "host_of", "shown_url", "has_credentials",
           "redirect_target", "may_follow_redirect", "MAX_REDIRECTS", "token_lifetime", "DEFAULT_TOKEN_LIFETIME",
           "MAX_TOKEN_LIFETIME", "hide_tokens"]
