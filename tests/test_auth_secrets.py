"""Neither the client secret nor a token can be reached by a traceback's locals display (pytest --showlocals,
rich, Sentry): every frame of a failed login or a failed call is rendered with ``capture_locals=True`` and searched.

The secrets live in module constants and the environment, never in a local of the test functions, because the
test's own frame is part of every traceback it catches.
"""

from __future__ import annotations

import traceback

import pytest
from scripted_server import Answer, ScriptedServer

import sfmc_nb
from sfmc_nb.auth import Credentials, Secret
from sfmc_nb.auth import _tokens as tokens_module
from sfmc_nb.client import RetryPolicy
from sfmc_nb.errors import AuthError, OutcomeUnknownError, ServerError, SfmcError

WRONG_SECRET = "Wr0ng-S3cret-for-the-locals-test-42"
SECRET = "Th3-Right-S3cret-for-the-locals-test-7"
TOKEN = "tok-locals-test-" + "q" * 24


def shown_with_locals(exc: BaseException) -> str:
    """Everything a locals-showing traceback tool would print for ``exc`` (chained exceptions included)."""
    return "".join(traceback.TracebackException(type(exc), exc, exc.__traceback__, capture_locals=True).format())


def assert_hidden(exc: BaseException, *values: str) -> None:
    text = shown_with_locals(exc)
    assert "client_secret" in text or "creds" in text or "token" in text   # the frames were really rendered
    for value in values:
        assert value not in text


@pytest.fixture
def fast_token_retries(monkeypatch):
    monkeypatch.setattr(tokens_module, "TOKEN_BACKOFF_BASE", 0.01)
    monkeypatch.setattr(tokens_module, "TOKEN_BACKOFF_MAX", 0.02)


def test_a_refused_login_shows_no_secret_in_any_frame(sandbox, monkeypatch):
    monkeypatch.setenv("SFMC_CLIENT_SECRET", WRONG_SECRET)
    with pytest.raises(AuthError) as info:
        sfmc_nb.connect(auth_base_url=sandbox.auth_base_url, client_id=sandbox.client_id, set_default=False)
    assert info.value.error == "invalid_client"
    assert_hidden(info.value, WRONG_SECRET)


def test_a_secret_passed_as_an_argument_is_wrapped_before_anything_can_fail(sandbox):
    def log_in():                                      # the plain secret exists only in this expression
        return sfmc_nb.connect(auth_base_url=sandbox.auth_base_url, client_id=sandbox.client_id,
                               client_secret=WRONG_SECRET, set_default=False)

    with pytest.raises(AuthError) as info:
        log_in()
    assert_hidden(info.value, WRONG_SECRET)


def test_a_secret_from_dotenv_is_wrapped_as_it_is_read(tmp_path):
    (tmp_path / ".env").write_text(f"SFMC_CLIENT_SECRET={WRONG_SECRET}\n")
    with pytest.raises(SfmcError) as info:            # no client id: fails after the .env file was read
        Credentials.resolve(auth_base_url="http://127.0.0.1:9/", environ={}, dotenv=tmp_path / ".env")
    assert_hidden(info.value, WRONG_SECRET)


FAILED_LOGINS = {   # built on demand, so no test frame holds the token
    "hung-up": lambda: Answer(hang_up=True),                           # read the body, then hung up
    "500": lambda: Answer(500, {"message": "token service down"}),     # answered 500, three times
    "bad-rest-url": lambda: Answer(200, {"access_token": TOKEN, "expires_in": 1079, "rest_instance_url": "ftp://x/"}),
    "malformed-token": lambda: Answer(200, {"access_token": TOKEN + "\r\nX-Evil: 1", "expires_in": 1079,
                                            "rest_instance_url": "http://127.0.0.1:9/"}),
}


@pytest.mark.parametrize("failure", sorted(FAILED_LOGINS))
def test_a_login_that_fails_after_the_body_arrived_shows_neither_secret_nor_token(monkeypatch, fast_token_retries,
                                                                                   failure):
    monkeypatch.setenv("SFMC_CLIENT_SECRET", SECRET)
    with ScriptedServer() as srv:
        srv.routes[("POST", "/v2/token")] = lambda req: FAILED_LOGINS[failure]()
        with pytest.raises((AuthError, OutcomeUnknownError)) as info:
            sfmc_nb.connect(auth_base_url=srv.url, client_id="cid", set_default=False, timeout=(2, 2))
        assert SECRET in srv.received[0].body.decode()                 # the server did receive it
    assert_hidden(info.value, SECRET, TOKEN)


def test_a_call_failing_after_login_shows_no_token(sandbox, monkeypatch):
    monkeypatch.setenv("SFMC_CLIENT_SECRET", sandbox.client_secret)
    conn = sfmc_nb.connect(auth_base_url=sandbox.auth_base_url, client_id=sandbox.client_id, set_default=False,
                           retry=RetryPolicy(max_attempts=2, backoff_base=0.01, backoff_max=0.02))
    sandbox.configure(error_rate=1.0)
    with pytest.raises(ServerError) as info:
        conn.journeys()
    assert_hidden(info.value, conn.tokens.current.value.reveal(), sandbox.client_secret)
    sandbox.reset_faults()
    sandbox.inject("lost-answer", count=1)
    with pytest.raises(OutcomeUnknownError) as info:
        conn.enter_batch(sandbox.event_key, [{"contactKey": "k", "data": {}}])
    assert_hidden(info.value, conn.tokens.current.value.reveal(), sandbox.client_secret)
    conn.close()


def test_the_token_is_wrapped_the_moment_it_is_read(sandbox, conn):
    assert isinstance(conn.tokens.current.value, Secret)
    assert conn.tokens.current.value.reveal() not in repr(conn.tokens.current)
