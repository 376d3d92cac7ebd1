"""Error answers read for people: the REST envelope's code and message, else a short excerpt of the text.

A proxy or load balancer answers with an HTML page, a misconfigured host with anything at all: such a body never
lands raw in an exception message (and so in row messages): the message carries the status and at most
:data:`EXCERPT_CHARS` characters of its text, tags stripped; the whole body stays on ``ApiError.body``.
"""

from __future__ import annotations

import html
import re
from typing import Any

import requests

from .._rules import int_or_none, one_line
from ..auth import hide_tokens, host_of, shown_url
from ..errors import ApiError, NotFoundError, RateLimitError, RedirectError, ServerError
from ._retry import RetryPolicy

__all__ = ["api_error", "redirect_error", "text_excerpt", "envelope", "EXCERPT_CHARS"]

EXCERPT_CHARS = 200
MESSAGE_CHARS = 500
_HIDDEN_BLOCKS = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def text_excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """One line of at most ``limit`` characters from an answer's text; markup (an HTML page) reduced to its words.
    A page that echoes the request's headers back (some proxies do) would show the access token: it is masked."""
    text = hide_tokens(text)
    if text.lstrip().startswith("<"):
        title = _TITLE.search(text)
        words = _TAG.sub(" ", _HIDDEN_BLOCKS.sub(" ", text))
        text = html.unescape(f"{title.group(1)}: {words}" if title else words)
    return one_line(text, limit)


def envelope(body: Any) -> tuple[int | None, str | None]:
    """``errorcode`` and message of an error answer (REST envelope or OAuth shape; extra errors appended)."""
    if not isinstance(body, dict):
        return None, None
    errorcode = int_or_none(body.get("errorcode", body.get("errorCode")))
    message = body.get("message") or body.get("error_description") or body.get("error")
    extra = body.get("additionalErrors")
    if extra and isinstance(extra, list):
        details = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in extra[:5])
        message = f"{message} ({details})" if message else details
    return errorcode, (one_line(message, MESSAGE_CHARS) if message else None)


def api_error(resp: requests.Response, method: str, path: str, retry: RetryPolicy) -> ApiError:
    """An error status as the matching :class:`~sfmc_nb.errors.ApiError`, with the envelope's code and text."""
    try:
        body = resp.json()
    except ValueError:
        body = resp.text or None
        errorcode, message = None, text_excerpt(resp.text) or None
    else:
        errorcode, message = envelope(body)
        if not isinstance(body, dict) and resp.text:
            message = text_excerpt(resp.text)
    kwargs: dict[str, Any] = dict(status=resp.status_code, method=method, path=path, errorcode=errorcode,
                                  message=message, body=body)
    if resp.status_code == 429:
        return RateLimitError(retry_after=retry.retry_after_seconds(resp.headers, body), **kwargs)
    if resp.status_code == 404:
        return NotFoundError(**kwargs)
    if resp.status_code >= 500:
        return ServerError(**kwargs)
    return ApiError(**kwargs)


def redirect_error(resp: requests.Response, method: str, path: str, url: str, target: str, why: str) -> RedirectError:
    """The redirect that was not followed: who answered, where it pointed, and why it stays unfollowed."""
    shown = shown_url(target)
    return RedirectError(location=shown, status=resp.status_code, method=method, path=path,
                         message=f"{host_of(url)} redirected to {shown}; not followed: {why}",
                         body=resp.text or None)
