"""Redirects never carry the client secret, the token or contact data anywhere else (real servers on 127.0.0.1).

``home`` is the configured host (token and REST); ``other`` is another host:port a redirect points to. Each test
asserts from ``other``'s own record that it received nothing.
"""

from __future__ import annotations

import pytest
from scripted_server import Answer, ScriptedServer, token_answer

import sfmc_nb
from sfmc_nb.auth import may_follow_redirect
from sfmc_nb.client import RetryPolicy
from sfmc_nb.errors import AuthError, RedirectError

SECRET = "S3cret-that-must-stay-home-0123456789"
TOKEN = "tok-that-must-stay-home-" + "k" * 20
CONTACT = "contact-ann@example.com"
EVENTS = "/interaction/v1/async/events"
JOURNEYS = "/interaction/v1/interactions"


@pytest.fixture
def home():
    with ScriptedServer() as srv:
        srv.routes[("POST", "/v2/token")] = lambda req: token_answer(srv.url, TOKEN)
        yield srv


@pytest.fixture
def other():
    with ScriptedServer() as srv:
        srv.routes[("POST", "/v2/token")] = lambda req: token_answer(srv.url, TOKEN)
        srv.routes[("POST", EVENTS)] = lambda req: Answer(202, {"requestId": "r", "members": []})
        srv.routes[("GET", JOURNEYS)] = lambda req: Answer(200, {"items": [], "count": 0})
        yield srv


def login(home, **kwargs):
    return sfmc_nb.connect(auth_base_url=home.url, client_id="cid", client_secret=SECRET, set_default=False,
                           timeout=(2, 2), retry=RetryPolicy(max_attempts=1), **kwargs)


def assert_nothing_reached(other):
    assert other.received == []


@pytest.mark.parametrize("status", [307, 302, 308, 301])
@pytest.mark.parametrize("where", ["other-port", "plain-http-name"])
def test_the_token_request_never_follows_a_redirect(home, other, status, where):
    target = other.url + "v2/token" if where == "other-port" else f"http://localhost:{other.port}/v2/token"
    home.routes[("POST", "/v2/token")] = lambda req: Answer(status, b"", {"Location": target})
    with pytest.raises(AuthError) as info:
        login(home)
    err = info.value
    assert err.error == "redirect" and err.status == status
    assert f"{other.port}" in str(err) and "auth base URL" in str(err)      # names where it pointed
    assert f"the token endpoint at 127.0.0.1:{home.port}" in str(err)      # and who answered so
    assert SECRET not in str(err)
    assert_nothing_reached(other)
    assert home.paths() == ["/v2/token"]                                    # asked once, never retried
    assert SECRET in home.received[0].body.decode()                         # the secret went home only


@pytest.mark.parametrize("status", [307, 302])
def test_a_batch_post_never_follows_a_redirect(home, other, status):
    home.routes[("POST", EVENTS)] = lambda req: Answer(status, b"", {"Location": other.url + EVENTS.lstrip("/")})
    conn = login(home)
    with pytest.raises(RedirectError) as info:
        conn.enter_batch("APIEvent-x", [{"contactKey": CONTACT, "data": {"Email": CONTACT}}])
    err = info.value
    assert err.status == status and err.location == other.url + EVENTS.lstrip("/")
    assert f"127.0.0.1:{home.port} redirected to" in str(err) and "not followed" in str(err)
    assert_nothing_reached(other)
    assert home.paths("POST") == ["/v2/token", EVENTS]
    conn.close()


def test_a_read_redirected_to_another_port_or_plain_http_is_not_followed(home, other):
    home.routes[("GET", JOURNEYS)] = lambda req: Answer(302, b"", {"Location": other.url + JOURNEYS.lstrip("/")})
    conn = login(home)
    with pytest.raises(RedirectError, match="same host"):
        conn.journeys()
    assert_nothing_reached(other)                                           # the bearer token stayed home
    conn.close()


def test_a_read_follows_a_redirect_on_the_same_host_a_few_times_at_most(home):
    home.routes[("GET", JOURNEYS)] = lambda req: Answer(302, b"", {"Location": "/moved/interactions?$page=1"})
    home.routes[("GET", "/moved/interactions")] = lambda req: Answer(200, {"items": [], "count": 0})
    conn = login(home)
    assert list(conn.journeys()) == []
    assert home.paths("GET") == [JOURNEYS, "/moved/interactions"]
    assert home.received[-1].headers["Authorization"] == f"Bearer {TOKEN}"
    assert conn.requests_sent == 2                                          # the hop is counted
    home.routes[("GET", "/moved/interactions")] = lambda req: Answer(307, b"", {"Location": "/moved/interactions"})
    with pytest.raises(RedirectError, match="more than 3 redirects"):
        conn.journeys()
    assert len(home.paths("GET")) == 2 + 1 + 3                              # bounded: first request + 3 hops
    conn.close()


@pytest.mark.parametrize("here, there, allowed", [
    ("https://h.example/a", "https://h.example/b", True),
    ("https://h.example/a", "https://h.example:443/b", True),
    ("https://h.example/a", "http://h.example/b", False),                  # never down to plain http
    ("https://h.example/a", "https://other.example/b", False),
    ("https://h.example/a", "https://h.example:8443/b", False),
    ("https://h.example/a", "https://user:pw@h.example/b", False),
    ("http://127.0.0.1:5/a", "http://127.0.0.1:5/b", True),                # the sandbox: same loopback host
    ("http://127.0.0.1:5/a", "http://127.0.0.1:6/b", False),
    ("http://127.0.0.1:5/a", "http://localhost:5/b", False),
    ("https://h.example/a", "https://[bad/b", False),
])
def test_which_redirects_a_read_may_follow(here, there, allowed):
    assert may_follow_redirect(here, there) is allowed
