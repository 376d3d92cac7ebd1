"""A token answer that cannot go into an HTTP header is refused at login, and no token text reaches any message.

Over HTTP (a scripted token endpoint on 127.0.0.1): a token holding a line break or text outside Latin-1 is an
``AuthError`` at login that never quotes it, and nothing else is sent. With that check switched off, the request
path still sends nothing, ends every row with a status, and keeps the token out of the result, its reprs, the
panel and the log.
"""

from __future__ import annotations

import json
import logging

import pandas as pd
import pytest
from scripted_server import Answer, ScriptedServer, token_answer

import sfmc_nb
from sfmc_nb.auth import _tokens as tokens_module
from sfmc_nb.auth import hide_tokens
from sfmc_nb.client import RetryPolicy
from sfmc_nb.errors import AuthError, ConnectError

BATCH = "/interaction/v1/async/events"
JOURNEYS = "/interaction/v1/interactions"
TOKEN_BODY = "tok-" + "Q7x" * 8   # the part of every malformed token below that must never be shown
MALFORMED = {
    "crlf-header": (TOKEN_BODY + "\r\nX-Evil: 1", "line break"),
    "lone-lf": (TOKEN_BODY + "\nsecond-line-" + "z" * 8, "line break"),
    "outside-latin-1": (TOKEN_BODY + "\u2603snow", "outside ASCII"),
    "latin-1-accent": (TOKEN_BODY + "\u00e9t\u00e9", "outside ASCII"),
    "control": (TOKEN_BODY + "\x00nul", "control character"),
    "space": (TOKEN_BODY + " and-more", "space"),
}


@pytest.fixture
def srv():
    with ScriptedServer() as server:
        server.routes[("GET", JOURNEYS)] = lambda req: Answer(200, {"items": [], "count": 0})
        server.routes[("POST", BATCH)] = lambda req: Answer(202, {"requestId": "r-1", "count": 0, "members": []})
        yield server


def login(srv, **options):
    return sfmc_nb.connect(auth_base_url=srv.url, client_id="cid", client_secret="s", set_default=False,
                           timeout=(2, 2), **options)


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_token_unfit_for_a_header_is_refused_at_login_without_showing_it(srv, case):
    token, problem = MALFORMED[case]
    srv.routes[("POST", "/v2/token")] = lambda req: token_answer(srv.url, token=token)
    with pytest.raises(AuthError, match="malformed access_token") as info:
        login(srv)
    text = f"{info.value} {info.value!r} {info.value.error_description}"
    assert problem in text and f"127.0.0.1:{srv.port}" in text
    assert TOKEN_BODY not in text and "X-Evil" not in text and "second-line" not in text
    assert srv.paths() == ["/v2/token"]                 # refused at once: not asked again, nothing else sent


def test_blanks_around_a_token_are_trimmed_and_the_token_is_used(srv):
    srv.routes[("POST", "/v2/token")] = lambda req: token_answer(srv.url, token=f"  {TOKEN_BODY}\r\n")
    conn = login(srv)
    conn.journeys()
    assert srv.received[-1].headers["Authorization"] == f"Bearer {TOKEN_BODY}"
    conn.close()


def test_a_header_http_cannot_carry_is_a_connect_error_and_nothing_leaves(srv):
    srv.routes[("POST", "/v2/token")] = lambda req: token_answer(srv.url, token=TOKEN_BODY)
    conn = login(srv, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(ConnectError, match="could not be built") as info:
        conn.request("GET", JOURNEYS, headers={"X-Note": "caf\u00e9 \u2603"})
    assert info.value.sent is False and conn.requests_sent == 0
    assert srv.paths() == ["/v2/token"]
    conn.close()


def shown_by(res) -> str:
    """Everything a user can see of a result: warnings, rows, text, HTML and Markdown reprs, the panel's state."""
    import ipywidgets

    res.show()
    parts = [*res.warnings, repr(res), res._repr_html_(), res._repr_markdown_(), res.to_frame().to_csv(),
             json.dumps(res.summary, default=str),
             json.dumps(ipywidgets.Widget.get_manager_state(drop_defaults=False), default=str)]
    return "\n".join(parts)


@pytest.mark.parametrize("case", ["crlf-header", "outside-latin-1"])
def test_with_the_login_check_off_the_token_is_still_never_shown_and_no_row_is_lost(srv, monkeypatch, caplog,
                                                                                     case):
    token, _ = MALFORMED[case]
    monkeypatch.setattr(tokens_module, "_malformed", lambda value: None)   # as if the login check missed it
    srv.routes[("POST", "/v2/token")] = lambda req: token_answer(srv.url, token=token)
    conn = login(srv)
    df = pd.DataFrame({"SubscriberKey": [f"k{i:03d}" for i in range(150)]})
    with caplog.at_level(logging.DEBUG, logger="sfmc_nb"):
        res = sfmc_nb.enter_journey(df, "APIEvent-x", connection=conn, data=[], validate=False, max_seconds=2)
    frame = res.to_frame()
    assert len(frame) == 150 and frame["status"].notna().all()
    assert set(frame["status"]) == {"failed"}             # proven unsent, so failed (retry-able), not unknown
    assert "could not be built" in frame["message"].iloc[0]
    assert srv.paths("POST") == ["/v2/token"] and srv.paths("GET") == []   # no REST request left
    seen = shown_by(res) + "\n" + caplog.text
    assert TOKEN_BODY not in seen and "X-Evil" not in seen and "Bearer " + TOKEN_BODY[:6] not in seen
    conn.close()


def test_hide_tokens_masks_live_tokens_in_every_spelling_and_any_bearer_value(srv):
    token = TOKEN_BODY + "-live"
    srv.routes[("POST", "/v2/token")] = lambda req: token_answer(srv.url, token=token)
    conn = login(srv)
    quoted = [token, repr(token), repr(token.encode()), json.dumps(token), f"Authorization: Bearer {token}"]
    for text in quoted:
        assert token not in hide_tokens(f"failed: {text}; check the host")
        assert "check the host" in hide_tokens(f"failed: {text}; check the host")
    masked = hide_tokens("Invalid header value b'Bearer abc.DEF-123\\r\\nX-Evil: 1'")
    assert "abc.DEF-123" not in masked and "Bearer ********" in masked
    assert hide_tokens("bearer   xyz.987") == "bearer ********"
    assert hide_tokens("no token here: HTTP 500") == "no token here: HTTP 500"
    conn.close()


def test_every_package_logger_masks_tokens_in_messages_and_tracebacks(srv, caplog):
    token = TOKEN_BODY + "-logged"
    srv.routes[("POST", "/v2/token")] = lambda req: token_answer(srv.url, token=token)
    conn = login(srv)
    import sfmc_nb.magics  # noqa: F401 - every module of the package loaded, so every logger exists
    import sfmc_nb.widgets  # noqa: F401

    names = [n for n in logging.root.manager.loggerDict
             if n.split(".")[0] == "sfmc_nb" and not n.startswith("sfmc_nb.sandbox")
             and isinstance(logging.root.manager.loggerDict[n], logging.Logger)]
    assert {"sfmc_nb.auth", "sfmc_nb.client", "sfmc_nb.engine"} <= set(names)
    for name in names:
        logger = logging.getLogger(name)
        with caplog.at_level(logging.INFO, logger=name):
            caplog.clear()
            logger.warning("sent with %s", f"Bearer {token}")
            try:
                raise ValueError(f"Invalid header value {('Bearer ' + token).encode()!r}")
            except ValueError:
                logger.exception("batch stopped")
        assert "batch stopped" in caplog.text and "ValueError" in caplog.text, name
        assert token not in caplog.text, name
    conn.close()


def test_an_error_page_that_echoes_the_request_headers_never_shows_the_token(srv):
    """Some proxies answer an error page quoting the request, Authorization header included."""
    token = TOKEN_BODY + "-echoed"
    srv.routes[("POST", "/v2/token")] = lambda req: token_answer(srv.url, token=token)

    def echo(req):
        headers = "".join(f"<li>{name}: {value}</li>" for name, value in req.headers.items())
        return Answer(502, f"<html><title>Bad gateway</title><body><ul>{headers}</ul></body></html>")

    srv.routes[("GET", JOURNEYS)] = echo
    conn = login(srv, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(sfmc_nb.errors.ApiError) as info:
        conn.journeys()
    text = f"{info.value} {info.value!r}"
    assert "Bad gateway" in text and "Authorization" in text   # the page's words are shown...
    assert TOKEN_BODY not in text                               # ...but never the token it echoed
    assert any(TOKEN_BODY in r.headers.get("Authorization", "") for r in srv.received)   # it was sent
    conn.close()
