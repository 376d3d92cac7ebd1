"""Bad data from the token endpoint and URLs carrying credentials are refused clearly (real server on 127.0.0.1)."""

from __future__ import annotations

import logging

import pytest
from scripted_server import Answer, ScriptedServer, token_answer

import sfmc_nb
from sfmc_nb.auth import DEFAULT_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME, Credentials, token_lifetime
from sfmc_nb.errors import AuthError, ConfigurationError

JOURNEYS = "/interaction/v1/interactions"
PASSWORD = "Pa55w0rd-in-the-url"


@pytest.fixture
def srv():
    with ScriptedServer() as server:
        server.routes[("GET", JOURNEYS)] = lambda req: Answer(200, {"items": [], "count": 0})
        yield server


def login(srv):
    return sfmc_nb.connect(auth_base_url=srv.url, client_id="cid", client_secret="s", set_default=False,
                           timeout=(2, 2))


@pytest.mark.parametrize("fields, said", [
    ({"access_token": None}, "access_token null"),
    ({"access_token": 12345}, "access_token a number"),
    ({"access_token": ["a"]}, "access_token a list"),
    ({"access_token": "   "}, "access_token an empty string"),
    ({"rest_instance_url": None}, "rest_instance_url null"),
    ({"rest_instance_url": 7}, "rest_instance_url a number"),
    ({"rest_instance_url": "not a url"}, "is not an http(s) URL"),
    ({"rest_instance_url": "http://rest.example.com/"}, "plain http"),
    ({"rest_instance_url": f"https://u:{PASSWORD}@rest.example.com/"}, "user name or password"),
])
def test_a_token_answer_without_a_usable_token_or_rest_url_is_refused_saying_what(srv, fields, said):
    srv.routes[("POST", "/v2/token")] = lambda req: token_answer(srv.url, **fields)
    with pytest.raises(AuthError) as info:
        login(srv)
    assert said in str(info.value) and f"127.0.0.1:{srv.port}" in str(info.value)
    assert PASSWORD not in str(info.value)
    assert srv.paths() == ["/v2/token"]                # refused at once, not asked again


def test_a_token_answer_missing_fields_or_not_an_object_is_refused(srv):
    srv.routes[("POST", "/v2/token")] = lambda req: Answer(200, {"token_type": "Bearer", "expires_in": 1079})
    with pytest.raises(AuthError, match="access_token null"):
        login(srv)
    srv.routes[("POST", "/v2/token")] = lambda req: Answer(200, {"access_token": "tok-" + "a" * 20})
    with pytest.raises(AuthError, match="rest_instance_url null"):
        login(srv)
    for body in (["a list"], "<html>sign in</html>"):
        srv.routes[("POST", "/v2/token")] = lambda req, body=body: Answer(200, body)
        with pytest.raises(AuthError, match="without a JSON object"):
            login(srv)


@pytest.mark.parametrize("expires_in, lifetime", [
    ("0", DEFAULT_TOKEN_LIFETIME), (-5, DEFAULT_TOKEN_LIFETIME), ("NaN", DEFAULT_TOKEN_LIFETIME),
    (None, DEFAULT_TOKEN_LIFETIME), (True, DEFAULT_TOKEN_LIFETIME), ("soon", DEFAULT_TOKEN_LIFETIME),
    ("Infinity", DEFAULT_TOKEN_LIFETIME), (0.2, DEFAULT_TOKEN_LIFETIME), ({"s": 1}, DEFAULT_TOKEN_LIFETIME),
    (10 ** 400, MAX_TOKEN_LIFETIME), (1e300, MAX_TOKEN_LIFETIME), ("99999999", MAX_TOKEN_LIFETIME),
])
def test_an_unusable_expires_in_gets_a_bounded_lifetime_and_a_warning(expires_in, lifetime, caplog):
    with caplog.at_level(logging.WARNING, logger="sfmc_nb.auth"):
        assert token_lifetime(expires_in) == lifetime
    assert any("expires_in" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("expires_in, lifetime", [(1079, 1079.0), ("600", 600.0), (2, 2.0), (1.5, 1.5)])
def test_a_sane_expires_in_is_taken_as_it_is(expires_in, lifetime, caplog):
    with caplog.at_level(logging.WARNING, logger="sfmc_nb.auth"):
        assert token_lifetime(expires_in) == lifetime
    assert not caplog.records


@pytest.mark.parametrize("expires_in", ["0", -5, "NaN", None, True, 10 ** 400])
def test_odd_expires_in_never_means_a_new_token_before_every_request(srv, expires_in):
    srv.routes[("POST", "/v2/token")] = lambda req: token_answer(srv.url, expires_in=expires_in)
    conn = login(srv)
    for _ in range(3):
        conn.journeys()
    assert srv.paths("POST") == ["/v2/token"] and conn.token_requests_sent == 1
    assert 60 <= conn.tokens.current.lifetime <= MAX_TOKEN_LIFETIME
    conn.close()


# --------------------------------------------------------------------------- URLs with credentials


@pytest.mark.parametrize("url", [f"https://user:{PASSWORD}@mcabc.auth.marketingcloudapis.com/",
                                 f"https://user:{PASSWORD}@host.example",
                                 f"http://user:{PASSWORD}@127.0.0.1:9/",
                                 f"https://user:{PASSWORD}@[::1",
                                 "https://user:pa/ss@host.example/"])
def test_a_url_with_a_password_is_refused_without_echoing_it(url):
    with pytest.raises(ConfigurationError, match="user name or password") as info:
        sfmc_nb.connect(auth_base_url=url, client_id="a", client_secret="b", set_default=False)
    assert PASSWORD not in str(info.value) and "user:" not in str(info.value) and "pa/ss" not in str(info.value)
    with pytest.raises(ConfigurationError) as info:
        Credentials.resolve(environ={"SFMC_AUTH_BASE_URL": url, "SFMC_CLIENT_ID": "a", "SFMC_CLIENT_SECRET": "b"},
                            dotenv=None)
    assert PASSWORD not in str(info.value)
    with pytest.raises(ConfigurationError) as info:
        Credentials(url, "a", sfmc_nb.auth.Secret("b"))
    assert PASSWORD not in str(info.value)


def test_the_host_shown_never_carries_user_info(sandbox, conn):
    assert conn.host == f"127.0.0.1:{sandbox.port}"
    assert Credentials("https://[::1]:8443/", "a", sfmc_nb.auth.Secret("b")).host == "[::1]:8443"
    assert "@" not in repr(conn)
