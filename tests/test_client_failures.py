"""Every transport failure is an SfmcError that says what to check; error pages never land raw in a message."""

from __future__ import annotations

import socket
import ssl

import pytest
import requests
from scripted_server import Answer, ScriptedServer, token_answer
from urllib3.exceptions import MaxRetryError, NameResolutionError, ProtocolError
from urllib3.exceptions import SSLError as Urllib3SSLError

import sfmc_nb
from sfmc_nb.auth import Credentials, never_sent, transport_failure
from sfmc_nb.auth import _tokens as tokens_module
from sfmc_nb.client import Connection, RetryPolicy
from sfmc_nb.errors import ApiError, ConnectError, OutcomeUnknownError, ServerError

ONCE = RetryPolicy(max_attempts=1)
JOURNEYS = "/interaction/v1/interactions"


@pytest.fixture
def fast_token_retries(monkeypatch):
    monkeypatch.setattr(tokens_module, "TOKEN_BACKOFF_BASE", 0.01)
    monkeypatch.setattr(tokens_module, "TOKEN_BACKOFF_MAX", 0.02)


@pytest.fixture
def plain():
    """A plain-HTTP server, for https URLs pointing at it: TLS on a plain port."""
    with ScriptedServer() as srv:
        yield srv


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- TLS, proxy, DNS, refused


def test_tls_on_a_plain_port_at_login_is_a_connect_error_with_the_hint(plain, fast_token_retries):
    https_url = f"https://127.0.0.1:{plain.port}/"
    with pytest.raises(ConnectError) as info:
        sfmc_nb.connect(auth_base_url=https_url, client_id="cid", client_secret="s3cret-value", set_default=False,
                        timeout=(2, 2))
    err = info.value
    assert err.sent is False
    assert f"TLS handshake with 127.0.0.1:{plain.port} failed" in str(err)
    assert "certificate" in str(err) and "REQUESTS_CA_BUNDLE" in str(err)
    assert plain.received == []                                # no HTTP request (nor the secret) arrived


def test_tls_on_a_plain_port_for_a_rest_call_is_a_connect_error_nothing_sent(plain):
    with ScriptedServer() as home:
        home.routes[("POST", "/v2/token")] = lambda req: token_answer(f"https://127.0.0.1:{plain.port}/")
        conn = sfmc_nb.connect(auth_base_url=home.url, client_id="cid", client_secret="s", set_default=False,
                               timeout=(2, 2), retry=ONCE)
        with pytest.raises(ConnectError, match="TLS handshake .* REQUESTS_CA_BUNDLE") as info:
            conn.enter_batch("APIEvent-x", [{"contactKey": "k", "data": {}}])
        assert info.value.sent is False and info.value.method == "POST"
        assert conn.requests_sent == 0                         # nothing left
        conn.close()
    assert plain.received == []


def test_a_proxy_that_does_not_answer_says_check_https_proxy():
    creds = Credentials.resolve(auth_base_url="http://127.0.0.1:9/", client_id="a", client_secret="b",
                                environ={}, dotenv=None)
    session = requests.Session()
    session.proxies = {"http": f"http://127.0.0.1:{free_port()}", "https": f"http://127.0.0.1:{free_port()}"}
    conn = Connection(creds, timeout=(2, 2), session=session)
    conn.tokens._max_attempts = 1
    with pytest.raises(ConnectError, match="HTTPS_PROXY") as info:
        conn.login()
    assert info.value.sent is False and conn.token_requests_sent == 0


def test_a_refused_connection_says_check_the_host():
    conn = Connection(Credentials.resolve(auth_base_url=f"http://127.0.0.1:{free_port()}/", client_id="a",
                                          client_secret="b", environ={}, dotenv=None), timeout=(2, 2))
    conn.tokens._max_attempts = 1
    with pytest.raises(ConnectError, match="connection refused.*check the host and port") as info:
        conn.login()
    assert info.value.sent is False


def _chained(outer: BaseException, *inner: BaseException) -> BaseException:
    """``outer`` with ``inner`` as its cause chain, the way urllib3 and requests wrap what went wrong."""
    cur = outer
    for exc in inner:
        cur.__cause__ = exc
        cur = exc
    return outer


def test_an_unresolvable_host_says_check_the_subdomain():
    dns = NameResolutionError("nowhere.invalid", None, socket.gaierror(-2, "Name or service not known"))
    exc = requests.exceptions.ConnectionError(MaxRetryError(None, "/v2/token", dns))
    err = transport_failure(exc, what="the token request", host="nowhere.invalid", method="POST", path="/v2/token",
                            read_timeout=5)
    assert isinstance(err, ConnectError) and err.sent is False
    assert "could not resolve nowhere.invalid" in str(err) and "SFMC_SUBDOMAIN" in str(err)


def test_the_cause_walk_skips_reasons_that_are_strings():
    tls = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    tls.reason = "WRONG_VERSION_NUMBER"                        # a string, as ssl sets it
    exc = requests.exceptions.SSLError(MaxRetryError(None, "/x", Urllib3SSLError(tls)))
    assert never_sent(exc) is False                            # no traceback through a handshake: may have left
    err = transport_failure(exc, what="GET /x", host="h", method="GET", path="/x", read_timeout=5)
    assert isinstance(err, OutcomeUnknownError) and "TLS connection to h broke" in str(err)
    lost = requests.exceptions.ConnectionError(_chained(ProtocolError("Connection aborted."), ConnectionResetError()))
    assert never_sent(lost) is False


# --------------------------------------------------------------------------- error bodies

PAGE = ("<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>body{color:red}</style>"
        "<script>var secret = 1;</script></head><body><h1>Bad Gateway</h1><p>The upstream "
        + "server did not answer. " * 200 + "</p><hr><center>nginx</center></body></html>")


def test_an_html_error_page_becomes_a_short_one_line_message_with_the_body_kept():
    with ScriptedServer() as srv:
        srv.routes[("POST", "/v2/token")] = lambda req: token_answer(srv.url)
        srv.routes[("GET", JOURNEYS)] = lambda req: Answer(502, PAGE)
        srv.routes[("POST", "/interaction/v1/async/events")] = lambda req: Answer(400, "x" * 5000, {
            "Content-Type": "text/plain"})
        conn = sfmc_nb.connect(auth_base_url=srv.url, client_id="cid", client_secret="s", set_default=False,
                               timeout=(2, 2), retry=ONCE)
        with pytest.raises(ServerError) as info:
            conn.journeys()
        err = info.value
        assert err.status == 502 and err.body == PAGE
        assert err.message.startswith("502 Bad Gateway: ") and "Bad Gateway" in err.message
        assert "<" not in str(err) and "var secret" not in str(err) and "color:red" not in str(err)
        assert len(err.message) <= 200 and "\n" not in str(err)
        with pytest.raises(ApiError) as info:
            conn.enter_batch("APIEvent-x", [{"contactKey": "k", "data": {}}])
        assert info.value.status == 400 and len(info.value.message) <= 200 and len(info.value.body) == 5000
        conn.close()


def test_a_json_envelope_keeps_its_errorcode_and_message(sandbox, conn):
    with pytest.raises(ApiError) as info:
        conn.enter_batch("no-such-key", [{"contactKey": "k", "data": {}}])
    assert isinstance(info.value.body, dict) and info.value.errorcode is not None
    assert info.value.message and info.value.message in str(info.value)


def test_rows_refused_with_an_html_page_get_a_short_message():
    import pandas as pd

    with ScriptedServer() as srv:
        srv.routes[("POST", "/v2/token")] = lambda req: token_answer(srv.url)
        srv.routes[("POST", "/interaction/v1/async/events")] = lambda req: Answer(403, PAGE.replace("502", "403"))
        conn = sfmc_nb.connect(auth_base_url=srv.url, client_id="cid", client_secret="s", set_default=False,
                               timeout=(2, 2), retry=ONCE)
        frame = pd.DataFrame({"SubscriberKey": ["a", "b"]})
        res = frame.sfmc.enter_journey("APIEvent-x", connection=conn, validate=False, progress=False)
        rows = res.to_frame()
        conn.close()
    assert list(rows["status"]) == ["failed", "failed"]
    for message in rows["message"]:
        assert message.startswith("403 Bad Gateway") and "<" not in message and len(message) <= 200
