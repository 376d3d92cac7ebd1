"""A token answer that cannot go into an HTTP header is refused at login, and no token text reaches any message.

Over HTTP (a scripted token endpoint on 127.0.0.1): a token holding a line break or text outside Latin-1 is an
``AuthError`` at login that never quotes it, and nothing else is sent. With that check switched off, the request
path still sends nothing, ends every row with a status, and keeps the token out of the result, its reprs, the
panel and the log.
"""

from __future__ import annotations

import pytest
from scripted_server import Answer, ScriptedServer, token_answer

import sfmc_nb
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
