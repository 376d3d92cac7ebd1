"""A subdomain value is never quoted back: a password pasted into it (as a URL or not) appears in no error.

The same value is tried as ``connect(subdomain=)``, as ``SFMC_SUBDOMAIN`` and as ``%sfmc_auth --subdomain`` (and
``%sfmc_auth`` reading ``SFMC_SUBDOMAIN``), as ``--auth-base-url`` and ``SFMC_AUTH_BASE_URL`` already are.
"""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

import sfmc_nb
from sfmc_nb.auth import Credentials
from sfmc_nb.errors import ConfigurationError
from sfmc_nb.magics import auth as auth_magics

PASSWORD = "hunter2pw"
TENANT = "mc" + "a1b2-" * 4 + "c3d4e5"   # 28 characters
WITH_PASSWORD = [
    f"https://user:{PASSWORD}@{TENANT}.auth.marketingcloudapis.com/",
    f"https://user:{PASSWORD}@{TENANT}.auth.marketingcloudapis.com",
    f"user:{PASSWORD}@{TENANT}",
    f"{PASSWORD}@{TENANT}",
    f"https://user:{PASSWORD}/x@{TENANT}.auth.marketingcloudapis.com/",   # a '/' inside the password
    f"https://user:{PASSWORD}@[::1",
]
NOT_A_SUBDOMAIN = [f"{TENANT}:{PASSWORD}", f"{TENANT}/{PASSWORD}", f"{TENANT}?{PASSWORD}"]
ENV = {"SFMC_CLIENT_ID": "cid", "SFMC_CLIENT_SECRET": "s3cret-value"}


def refusal(value: str, how: str) -> str:
    with pytest.raises(ConfigurationError) as info:
        if how == "argument":
            sfmc_nb.connect(subdomain=value, client_id="cid", client_secret="s3cret-value", set_default=False)
        else:
            Credentials.resolve(environ={**ENV, "SFMC_SUBDOMAIN": value}, dotenv=None)
    return str(info.value)


@pytest.mark.parametrize("how", ["argument", "environment"])
@pytest.mark.parametrize("value", WITH_PASSWORD)
def test_a_subdomain_with_a_password_is_refused_without_echoing_it(value, how):
    text = refusal(value, how)
    assert "user name or password" in text and "28 characters" in text
    assert PASSWORD not in text and "user:" not in text


@pytest.mark.parametrize("how", ["argument", "environment"])
@pytest.mark.parametrize("value", NOT_A_SUBDOMAIN)
def test_any_other_wrong_subdomain_is_described_not_quoted(value, how):
    text = refusal(value, how)
    assert "subdomain is malformed" in text and PASSWORD not in text


def test_a_wrong_subdomain_says_what_is_wrong_with_it():
    assert "it has 7 characters" in refusal("mcshort", "argument")
    assert "upper-case" in refusal("MC" + "a" * 26, "argument")
    assert "other than a-z" in refusal("mc" + "a" * 25 + "_", "argument")
    assert "start with 'mc'" in refusal("xx" + "a" * 26, "argument")
    url = refusal(f"https://{TENANT}.auth.marketingcloudapis.com/", "argument")
    assert "is a URL" in url and "SFMC_AUTH_BASE_URL" in url and f"host {TENANT}.auth" in url


def test_a_good_subdomain_still_builds_the_auth_url():
    creds = Credentials.resolve(environ={**ENV, "SFMC_SUBDOMAIN": f"  {TENANT} "}, dotenv=None)
    assert creds.auth_base_url == f"https://{TENANT}.auth.marketingcloudapis.com/"


@pytest.fixture
def ip(shell, monkeypatch):
    monkeypatch.setattr(auth_magics, "_can_prompt", lambda shell: False)
    for name in ("SFMC_SUBDOMAIN", "SFMC_AUTH_BASE_URL", "SFMC_SANDBOX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SFMC_CLIENT_ID", "cid")
    monkeypatch.setenv("SFMC_CLIENT_SECRET", "s3cret-value")
    shell.run_line_magic("load_ext", "sfmc_nb")
    yield shell
    sfmc_nb.set_default_connection(None)


def magic_refusal(ip, line: str) -> str:
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("sfmc_auth", line)
    assert type(info.value) is UsageError      # shown by IPython as one line, no traceback
    return str(info.value)


@pytest.mark.parametrize("value", WITH_PASSWORD + NOT_A_SUBDOMAIN)
def test_sfmc_auth_never_echoes_a_password_given_as_subdomain(ip, monkeypatch, value):
    text = magic_refusal(ip, f"--subdomain '{value}'")
    assert "subdomain" in text and PASSWORD not in text
    monkeypatch.setenv("SFMC_SUBDOMAIN", value)
    text = magic_refusal(ip, "")
    assert "subdomain" in text and PASSWORD not in text
    assert sfmc_nb.default_connection(required=False) is None
