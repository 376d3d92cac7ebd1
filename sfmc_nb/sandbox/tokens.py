"""Access tokens: ``POST /v2/token`` (client credentials) and the check every REST call makes.

Tokens are random, live ``token_lifetime`` seconds (a fault setting) and carry the scopes granted. The
client secret is compared in constant time and never echoed.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import demo
from .errors import ApiError, OAuthError


@dataclass
class Token:
    expires: float  # time.monotonic() deadline
    scopes: frozenset[str]


class Tokens:
    """Issued tokens; thread-safe."""

    def __init__(self, client_id: str, client_secret: str, account_id: int, lifetime: Callable[[], int | float]):
        self.client_id, self.client_secret, self.account_id = client_id, client_secret, account_id
        self.lifetime = lifetime
        self.lock = threading.Lock()
        self._tokens: dict[str, Token] = {}

    def issue(self, fields: dict, base_url: str) -> dict:
        """``POST /v2/token``; raises OAuthError. The secret is compared, never echoed."""
        grant = fields.get("grant_type")
        if grant in (None, ""):
            raise OAuthError(400, "invalid_request", "The request is missing the grant_type parameter.")
        if grant != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", "Only the client_credentials grant type is supported.")
        if not (_same(fields.get("client_id"), self.client_id)
                and _same(fields.get("client_secret"), self.client_secret)):
            raise OAuthError(401, "invalid_client", "Client authentication failed. Make sure that the client ID "
                             "and client secret are correct and that the installed package is enabled.")
        account = fields.get("account_id")
        if account not in (None, ""):
            numeric = isinstance(account, int) and not isinstance(account, bool)
            numeric = numeric or (isinstance(account, str) and account.strip().isdigit())
            if not numeric:
                raise OAuthError(400, "invalid_request", "account_id must be the MID of a business unit (a number).")
            if int(account) != self.account_id:
                raise OAuthError(401, "invalid_grant", "The client is not authorized for the requested account_id "
                                 "(business unit). Check the MID and the package's business unit access.")
        scope = fields.get("scope")
        if scope is None:
            granted = list(demo.SCOPES)
        elif not isinstance(scope, str):
            raise OAuthError(400, "invalid_request", "scope must be a space-separated string.")
        else:
            granted = list(dict.fromkeys(scope.split()))
            unknown = [name for name in granted if name not in demo.SCOPES]
            if unknown:
                raise OAuthError(400, "invalid_scope", f"Scope not granted to this package: {' '.join(unknown)}.")
        lifetime = self.lifetime()
        token = secrets.token_urlsafe(32)
        with self.lock:
            self._tokens[token] = Token(time.monotonic() + lifetime, frozenset(granted))
        return {"access_token": token, "token_type": "Bearer", "expires_in": lifetime, "scope": " ".join(granted),
                "soap_instance_url": base_url, "rest_instance_url": base_url}

    def authorize(self, header: str | None, any_scope: tuple[str, ...]) -> None:
        """Raise 401 errorcode 0 unless ``header`` holds a live token, 403 20002 unless it has a needed scope."""
        scheme, _, value = (header or "").strip().partition(" ")
        with self.lock:
            token = self._tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        if token is None or time.monotonic() >= token.expires:
            raise ApiError(401, 0, "Not Authorized")
        if any_scope and not token.scopes.intersection(any_scope):
            raise ApiError(403, 20002, "Insufficient privileges: the token lacks the scope "
                           f"{' or '.join(any_scope)}.")

    def expire_all(self) -> None:
        with self.lock:
            for token in self._tokens.values():
                token.expires = 0.0


def _same(given: object, expected: str) -> bool:
    """Constant-time comparison that tolerates any JSON type in ``given``."""
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())
