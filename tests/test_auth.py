"""Logging in: credentials from arguments, environment, .env and prompt; the token cache; secrets never shown."""

from __future__ import annotations

import threading
import time

import pytest

import sfmc_nb
from sfmc_nb.auth import Credentials, Secret
from sfmc_nb.client import Connection
from sfmc_nb.errors import ApiError, AuthError, ConfigurationError


def member(key, **data):
    return {"contactKey": key, "data": data}


# --------------------------------------------------------------------------- tokens


def test_three_calls_reuse_one_token(sandbox, conn):
    before = sandbox.stats["token_requests"]
    conn.journeys()
    conn.event_definition(sandbox.event_key)
    conn.contact_membership(["nobody"])
    assert sandbox.stats["token_requests"] == before
    assert conn.tokens.requests_made == 1


def test_eight_threads_starting_together_make_one_token_request(sandbox):
    creds = Credentials.resolve(auth_base_url=sandbox.auth_base_url, client_id=sandbox.client_id,
                                client_secret=sandbox.client_secret, environ={}, dotenv=None)
    conn = Connection(creds, timeout=(2, 5))
    barrier = threading.Barrier(8)
    errors = []

    def work():
        try:
            barrier.wait(timeout=5)
            conn.journeys(status="Published")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert not errors
    assert sandbox.stats["token_requests"] == 1
    conn.close()


def test_token_expiring_mid_run_is_replaced_without_error(sandbox, conn):
    conn.journeys()
    sandbox.expire_tokens()
    journeys = conn.journeys()           # 401 -> new token -> same call again, invisible to the caller
    assert journeys
    assert sandbox.stats["token_requests"] == 2
    answer = conn.enter_batch(sandbox.event_key, [member("t-1")])
    assert answer.not_queued_count == 0


def test_short_lived_token_is_refreshed_ahead_of_expiry():
    with sfmc_nb.sandbox.start(token_lifetime=2) as sb:
        conn = sfmc_nb.connect(sandbox=sb, set_default=False)
        first = conn.tokens.current
        time.sleep(1.7)                  # inside the refresh margin (20% of the lifetime) but not expired
        conn.journeys()
        assert conn.tokens.current is not first
        assert sb.stats["token_requests"] == 2
        assert not any(r["status"] == 401 for r in sb.request_log)
        conn.close()


def test_a_401_is_retried_once_only(sandbox, conn, monkeypatch):
    calls = []
    real = conn.tokens.get

    def always_expired():
        token = real()
        sandbox.expire_tokens()          # every token dies as soon as it is handed out
        calls.append(token)
        return token

    conn.tokens.invalidate()
    monkeypatch.setattr(conn.tokens, "get", always_expired)
    with pytest.raises(ApiError) as info:
        conn.journeys()
    assert info.value.status == 401 and info.value.errorcode == 0
    assert len(calls) == 2


def test_bad_credentials_raise_auth_error_without_secret_or_token(sandbox):
    secret = "Wr0ng-S3cret-value-1234567890"
    with pytest.raises(AuthError) as info:
        sfmc_nb.connect(auth_base_url=sandbox.auth_base_url, client_id=sandbox.client_id, client_secret=secret,
                        set_default=False)
    err = info.value
    assert err.error == "invalid_client" and err.status == 401
    text = f"{err} {err!r} {err.error_description} {vars(err)}"
    assert secret not in text
    assert "client id and secret" in str(err)
    assert sandbox.stats["token_refusals"] >= 1


def test_auth_errors_are_never_retried(sandbox):
    with pytest.raises(AuthError):
        sfmc_nb.connect(auth_base_url=sandbox.auth_base_url, client_id="nobody", client_secret="x",
                        set_default=False)
    token_posts = [r for r in sandbox.request_log if r["path"].endswith("/v2/token")]
    assert len(token_posts) == 1


def test_repr_shows_host_mid_scopes_and_minutes_never_secrets(sandbox, conn):
    text = repr(conn)
    token = conn.tokens.current.value.reveal()
    assert sandbox.client_secret not in text and token not in text
    assert "127.0.0.1" in text and str(sandbox.account_id) in text and "min left" in text
    assert "journeys_read" in text
    assert sandbox.client_secret not in repr(conn.credentials)
    assert token not in repr(conn.tokens.current)
    assert repr(Secret("abc")) == "Secret('********')"


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize("url", ["http://example.com/", "http://10.1.2.3:8080/", "ftp://127.0.0.1/"])
def test_non_loopback_http_is_refused(url):
    with pytest.raises(ConfigurationError, match="https|http"):
        sfmc_nb.connect(auth_base_url=url, client_id="a", client_secret="b", set_default=False)


def test_loopback_http_is_accepted_in_every_spelling():
    for url in ("http://127.0.0.1:1/", "http://localhost:1/", "http://[::1]:1/"):
        creds = Credentials.resolve(auth_base_url=url, client_id="a", client_secret="b", environ={}, dotenv=None)
        assert creds.auth_base_url == url


@pytest.mark.parametrize("sub", ["mcshort", "MC" + "a" * 26, "xx" + "a" * 26, "mc" + "a" * 25 + "_"])
def test_malformed_subdomain_is_a_configuration_error(sub):
    with pytest.raises(ConfigurationError, match="28 characters"):
        Credentials.resolve(subdomain=sub, client_id="a", client_secret="b", environ={}, dotenv=None)


def test_subdomain_builds_the_https_auth_host():
    sub = "mc" + "abc123-" * 3 + "abcde"
    assert len(sub) == 28
    creds = Credentials.resolve(subdomain=sub, client_id="a", client_secret="b", environ={}, dotenv=None)
    assert creds.auth_base_url == f"https://{sub}.auth.marketingcloudapis.com/"


def test_settings_come_from_environment_then_dotenv(tmp_path):
    (tmp_path / ".env").write_text('SFMC_CLIENT_SECRET="from-dotenv"\nSFMC_ACCOUNT_ID=42\n# comment\n')
    env = {"SFMC_AUTH_BASE_URL": "http://127.0.0.1:9/", "SFMC_CLIENT_ID": "cid", "SFMC_ACCOUNT_ID": "7"}
    creds = Credentials.resolve(environ=env, dotenv=tmp_path / ".env")
    assert creds.client_secret.reveal() == "from-dotenv"
    assert creds.account_id == 7          # the environment wins over .env
    assert creds.client_id == "cid"


def test_missing_settings_name_the_variables():
    with pytest.raises(ConfigurationError, match="SFMC_SUBDOMAIN"):
        Credentials.resolve(environ={}, dotenv=None)
    with pytest.raises(ConfigurationError, match="SFMC_CLIENT_SECRET"):
        Credentials.resolve(auth_base_url="http://127.0.0.1:9/", client_id="x", environ={}, dotenv=None)
    with pytest.raises(ConfigurationError, match="MID"):
        Credentials.resolve(auth_base_url="http://127.0.0.1:9/", client_id="x", client_secret="y",
                            account_id="abc", environ={}, dotenv=None)


def test_secret_can_come_from_a_prompt():
    asked = []
    creds = Credentials.resolve(auth_base_url="http://127.0.0.1:9/", client_id="x", environ={}, dotenv=None,
                                prompt=lambda text: asked.append(text) or "typed")
    assert creds.client_secret.reveal() == "typed" and "x" in asked[0]


def test_an_explicit_host_overrides_the_environments_either_form():
    env = {"SFMC_SUBDOMAIN": "mc" + "a" * 26, "SFMC_CLIENT_ID": "cid", "SFMC_CLIENT_SECRET": "s"}
    creds = Credentials.resolve(auth_base_url="http://127.0.0.1:9/", environ=env, dotenv=None)
    assert creds.auth_base_url == "http://127.0.0.1:9/"
    env = {"SFMC_AUTH_BASE_URL": "http://127.0.0.1:9/", "SFMC_CLIENT_ID": "cid", "SFMC_CLIENT_SECRET": "s"}
    creds = Credentials.resolve(subdomain="mc" + "b" * 26, environ=env, dotenv=None)
    assert creds.auth_base_url.startswith("https://mcbbb")
    with pytest.raises(ConfigurationError, match="not both"):
        Credentials.resolve(environ={**env, "SFMC_SUBDOMAIN": "mc" + "a" * 26}, dotenv=None)


# --------------------------------------------------------------------------- .env (python-dotenv)


@pytest.mark.parametrize("line, secret", [
    ('SFMC_CLIENT_SECRET="abc def"', "abc def"),
    ("SFMC_CLIENT_SECRET='abc def'", "abc def"),
    ('SFMC_CLIENT_SECRET="x"  # comment', "x"),
    ("SFMC_CLIENT_SECRET=plain  # comment", "plain"),
    ("export SFMC_CLIENT_SECRET=exported", "exported"),
    ('SFMC_CLIENT_SECRET="has # inside"', "has # inside"),
    ("SFMC_CLIENT_SECRET='a$b${HOME}c'", "a$b${HOME}c"),           # never expanded
    ("SFMC_CLIENT_SECRET=a$b${HOME}c", "a$b${HOME}c"),
])
def test_dotenv_quotes_export_and_inline_comments(tmp_path, line, secret):
    (tmp_path / ".env").write_text(f"# settings\nexport SFMC_CLIENT_ID=cid  # the package's id\n{line}\n")
    creds = Credentials.resolve(auth_base_url="http://127.0.0.1:9/", environ={}, dotenv=tmp_path / ".env")
    assert creds.client_secret.reveal() == secret and creds.client_id == "cid"


def test_read_dotenv_keeps_its_signature_and_leaves_os_environ_alone(tmp_path, monkeypatch):
    import os

    from sfmc_nb.auth import ENV_NAMES, read_dotenv

    (tmp_path / ".env").write_text('SFMC_CLIENT_SECRET="from-file"  # comment\nSFMC_SCOPE=a b\nEMPTY\n')
    before = dict(os.environ)
    values = read_dotenv(tmp_path / ".env")
    assert values == {"SFMC_CLIENT_SECRET": "from-file", "SFMC_SCOPE": "a b"}
    monkeypatch.chdir(tmp_path)
    assert read_dotenv().get(ENV_NAMES["client_secret"]) == "from-file"         # default path: ./.env
    assert read_dotenv(tmp_path / "missing.env") == {}
    Credentials.resolve(auth_base_url="http://127.0.0.1:9/", client_id="x", dotenv=tmp_path / ".env")
    assert dict(os.environ) == before


def test_the_environment_wins_over_dotenv_and_an_empty_variable_counts_as_unset(tmp_path):
    (tmp_path / ".env").write_text("SFMC_CLIENT_SECRET=file-secret\nSFMC_CLIENT_ID=file-id\n")
    env = {"SFMC_CLIENT_SECRET": "env-secret", "SFMC_CLIENT_ID": ""}
    creds = Credentials.resolve(auth_base_url="http://127.0.0.1:9/", environ=env, dotenv=tmp_path / ".env")
    assert creds.client_secret.reveal() == "env-secret" and creds.client_id == "file-id"
