"""The IPython magics, driven through a real InteractiveShell against the sandbox."""

from __future__ import annotations

import json
import sys
import time
import types

import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output
from traitlets import TraitError

import sfmc_nb
from sfmc_nb import sandbox as sandbox_module
from sfmc_nb.magics import AuthStatus, JourneyInfo, SfmcMagics
from sfmc_nb.magics import auth as auth_magics
from sfmc_nb.results import EntryResult

KNOWN_SECRET = "Kn0wn-Client-Secret-for-the-Leak-Test-9xQ"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def ip(shell):
    """The test shell with ``%load_ext sfmc_nb``; sandboxes the magics started are stopped afterwards."""
    shell.run_line_magic("load_ext", "sfmc_nb")
    yield shell
    for settings in [c for c in shell.configurables if isinstance(c, SfmcMagics)]:
        for conn in settings.own_sandboxes:
            conn.close()
            conn.sandbox.stop()
    conn = sfmc_nb.default_connection(required=False)
    if conn is not None:
        conn.close()
    sfmc_nb.set_default_connection(None)


@pytest.fixture
def no_prompt(monkeypatch):
    monkeypatch.setattr(auth_magics, "_can_prompt", lambda shell: False)


@pytest.fixture
def logged_in(ip, sandbox, monkeypatch, no_prompt):
    """The shell logged in to the test's sandbox with the secret from SFMC_CLIENT_SECRET."""
    monkeypatch.setenv("SFMC_CLIENT_SECRET", sandbox.client_secret)
    conn = ip.run_line_magic("sfmc_auth", f"--auth-base-url {sandbox.auth_base_url} --client-id {sandbox.client_id}")
    ip.run_line_magic("config", "SfmcMagics.display = 'text'")
    ip.run_line_magic("config", "SfmcMagics.progress = False")
    return conn


def magics_of(ip) -> SfmcMagics:
    return next(c for c in ip.configurables if isinstance(c, SfmcMagics))


def usage_error(fn, *args) -> str:
    with pytest.raises(UsageError) as info:
        fn(*args)
    assert type(info.value) is UsageError  # exactly UsageError: IPython shows it as one line, no traceback
    text = str(info.value)
    assert "\n" not in text
    return text


def wait_processed(sb, keys, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = [e for e in sb.entries() if e["contactKey"] in keys]
        if rows and all(e["status"] == "processed" for e in rows):
            return
        time.sleep(0.05)
    raise AssertionError("the sandbox did not process the entries in time")


CSV = """SubscriberKey,Email,FirstName
00123,ann@example.com,Ann
00124,bob@example.com,Bob
"""


# --------------------------------------------------------------------------- loading and %config


def test_load_registers_one_configurable_magics_class(ip):
    found = [c for c in ip.configurables if isinstance(c, SfmcMagics)]
    assert len(found) == 1
    m = found[0]
    assert (m.concurrency, m.progress, m.display, m.short_errors, m.validate, m.journal_dir) == (
        8, True, "widget", True, True, "")
    for name in ("sfmc_auth", "journey_enter", "sfmc_journeys", "sfmc_journey", "sfmc_membership", "sfmc_exit",
                 "sfmc_batch_status"):
        assert ip.find_line_magic(name) is not None
    assert ip.find_cell_magic("journey_enter") is not None
    ip.run_line_magic("config", "SfmcMagics.concurrency = 3")
    ip.run_line_magic("config", "SfmcMagics.display = 'html'")
    assert (m.concurrency, m.display) == (3, "html")
    ip.run_cell("%config SfmcMagics.display = 'fancy'")  # %config logs the refusal
    assert m.display == "html"


def test_unload_removes_the_magics(ip):
    ip.run_line_magic("unload_ext", "sfmc_nb")
    assert ip.find_line_magic("sfmc_auth") is None
    assert ip.find_cell_magic("journey_enter") is None
    assert not any(isinstance(c, SfmcMagics) for c in ip.configurables)
    ip.run_line_magic("load_ext", "sfmc_nb")
    assert ip.find_line_magic("sfmc_auth") is not None


def _ours(objects) -> list:
    """The objects among ``objects`` that sfmc_nb made (IPython adds configurables of its own as it likes)."""
    return [o for o in objects if type(o).__module__.startswith("sfmc_nb")]


def _our_magics(shell) -> dict[str, set[str]]:
    """The magic names, by kind, that point at sfmc_nb's code."""
    return {kind: {name for name, fn in table.items() if getattr(fn, "__module__", "").startswith("sfmc_nb")}
            for kind, table in shell.magics_manager.magics.items()}


def test_unload_removes_exactly_what_load_registered_and_reload_works(shell):
    before_configurables = list(shell.configurables)
    shell.run_line_magic("load_ext", "sfmc_nb")
    assert _our_magics(shell) == {
        "line": {"sfmc_auth", "journey_enter", "sfmc_journeys", "sfmc_journey", "sfmc_membership",
                 "sfmc_exit", "sfmc_batch_status", "sfmc_trace"},
        "cell": {"journey_enter"},
    }
    sfmc_nb.load_ipython_extension(shell)  # a second load keeps one of everything
    assert sorted(type(c).__name__ for c in _ours(shell.configurables)) == sorted(
        [type(m).__name__ for m in _ours(shell.magics_manager.registry.values())] + ["SfmcMagics"])
    assert sum(isinstance(c, SfmcMagics) for c in shell.configurables) == 1
    assert len(_ours(shell.configurables)) == 5  # the settings and four magics classes

    shell.run_line_magic("unload_ext", "sfmc_nb")
    assert _our_magics(shell) == {"line": set(), "cell": set()}
    assert _ours(shell.magics_manager.registry.values()) == []
    assert _ours(shell.configurables) == []
    assert all(c in shell.configurables for c in before_configurables)  # nothing of IPython's was taken away

def test_unload_leaves_a_magic_registered_since_under_the_same_name(shell):
    shell.run_line_magic("load_ext", "sfmc_nb")
    shell.register_magic_function(lambda line: f"mine: {line}", "line", "sfmc_journeys")
    shell.run_line_magic("unload_ext", "sfmc_nb")
    assert shell.run_line_magic("sfmc_journeys", "x") == "mine: x"
    assert shell.find_line_magic("sfmc_journey") is None


def test_concurrency_setting_is_checked_against_its_range(ip):
    m = magics_of(ip)
    ip.run_line_magic("config", "SfmcMagics.concurrency = 32")
    assert m.concurrency == 32
    for bad in (0, 33, -1):
        ip.run_cell(f"%config SfmcMagics.concurrency = {bad}")  # %config logs the refusal
        assert m.concurrency == 32
    with pytest.raises(TraitError, match="from 1 to 32"):
        m.concurrency = 33
    m.concurrency = 1
    assert m.concurrency == 1


def test_journey_enter_opts_out_of_variable_expansion(ip):
    from IPython.core.magic import MAGIC_NO_VAR_EXPAND_ATTR

    assert getattr(ip.find_cell_magic("journey_enter"), MAGIC_NO_VAR_EXPAND_ATTR, False)


# --------------------------------------------------------------------------- %sfmc_auth


def test_auth_with_secret_from_environment_returns_the_default_connection(logged_in, sandbox):
    assert isinstance(logged_in, sfmc_nb.Connection)
    assert sfmc_nb.default_connection() is logged_in
    assert sandbox.client_secret not in repr(logged_in)
    assert logged_in.tokens.current.value.reveal() not in repr(logged_in)


def test_auth_sandbox_flag_status_and_logout(ip, no_prompt, capsys):
    result = ip.run_cell("conn = %sfmc_auth --sandbox")
    assert result.success
    conn = ip.user_ns["conn"]
    assert conn.is_sandbox and sfmc_nb.default_connection() is conn
    sb = conn.sandbox
    status = ip.run_line_magic("sfmc_auth", "--status")
    assert isinstance(status, AuthStatus)
    text, page = repr(status), status._repr_html_()
    for part in (conn.host, "514000001", "journeys_read", "sandbox: yes"):
        assert part in text
    assert conn.host in page and "yes" in page and "minutes left" in page
    assert ip.run_line_magic("sfmc_auth", "--logout") is None
    assert "logged out" in capsys.readouterr().out
    assert sfmc_nb.default_connection(required=False) is None
    assert not sb.running and conn.closed
    assert not ip.run_line_magic("sfmc_auth", "--status").logged_in
    assert "run %sfmc_auth first" in usage_error(ip.run_line_magic, "sfmc_journeys", "")


def test_logging_in_again_stops_the_sandbox_the_first_login_started(ip, no_prompt):
    first = ip.run_line_magic("sfmc_auth", "--sandbox")
    second = ip.run_line_magic("sfmc_auth", "--sandbox")
    try:
        assert not first.sandbox.running and first.closed
        assert second.sandbox.running and sfmc_nb.default_connection() is second
    finally:
        ip.run_line_magic("sfmc_auth", "--logout")
    assert not second.sandbox.running


def test_auth_uses_the_sandbox_when_sfmc_sandbox_is_set(ip, monkeypatch, no_prompt):
    monkeypatch.setenv("SFMC_SANDBOX", "1")
    conn = ip.run_line_magic("sfmc_auth", "")
    assert conn.is_sandbox and sfmc_nb.default_connection() is conn
    ip.run_line_magic("sfmc_auth", "--logout")
    assert not conn.sandbox.running


def test_auth_with_nothing_configured_names_the_variables(ip, no_prompt):
    text = usage_error(ip.run_line_magic, "sfmc_auth", "")
    for name in ("SFMC_SUBDOMAIN", "SFMC_AUTH_BASE_URL", "SFMC_CLIENT_ID", "SFMC_CLIENT_SECRET"):
        assert name in text


def test_auth_without_a_secret_and_no_prompt_names_the_variables(ip, sandbox, no_prompt):
    text = usage_error(ip.run_line_magic, "sfmc_auth",
                       f"--auth-base-url {sandbox.auth_base_url} --client-id {sandbox.client_id}")
    assert "SFMC_CLIENT_SECRET" in text and "SFMC_SUBDOMAIN" in text
    assert sfmc_nb.default_connection(required=False) is None


def test_auth_prompts_for_the_secret_when_the_kernel_can(ip, sandbox, monkeypatch):
    asked = []

    def fake_getpass(prompt=""):
        asked.append(prompt)
        return sandbox.client_secret

    monkeypatch.setattr(auth_magics, "_can_prompt", lambda shell: True)
    monkeypatch.setattr("getpass.getpass", fake_getpass)
    conn = ip.run_line_magic("sfmc_auth",
                             f"--auth-base-url {sandbox.auth_base_url} --client-id {sandbox.client_id}")
    assert len(asked) == 1 and sandbox.client_id in asked[0]
    assert sfmc_nb.default_connection() is conn and conn.minutes_left > 0


def test_auth_reads_a_dotenv_file(ip, sandbox, tmp_path, no_prompt):
    (tmp_path / ".env").write_text(f"SFMC_AUTH_BASE_URL={sandbox.auth_base_url}\nSFMC_CLIENT_ID={sandbox.client_id}\n"
                                   f"SFMC_CLIENT_SECRET='{sandbox.client_secret}'\n")
    conn = ip.run_line_magic("sfmc_auth", "--account-id 514000001")
    assert conn.host == sandbox.auth_base_url.split("//")[1].rstrip("/")
    assert conn.credentials.account_id == 514000001


@pytest.mark.parametrize("line", [
    "--client-secret hunter2",
    "--secret hunter2",
    "--password=hunter2",
    "--client_secret hunter2",
    "--client-id my-id secret=hunter2",
    "--client-id my-id client_secret=hunter2",
    "--client-id my-id Zq8Xw2Lm9Rt4Vb7Nc1Kd",
    "--scope Zq8Xw2Lm9Rt4Vb7Nc1Kd3Fg",
])
def test_a_secret_on_the_line_is_refused(ip, sandbox, no_prompt, line):
    text = usage_error(ip.run_line_magic, "sfmc_auth", f"--auth-base-url {sandbox.auth_base_url} {line}")
    assert "saved in the notebook" in text
    assert "hunter2" not in text and "Zq8Xw2Lm9Rt4Vb7Nc1Kd" not in text
    assert sfmc_nb.default_connection(required=False) is None


def test_the_configured_secret_typed_on_the_line_is_refused(ip, sandbox, monkeypatch, no_prompt):
    monkeypatch.setenv("SFMC_CLIENT_SECRET", sandbox.client_secret)
    text = usage_error(ip.run_line_magic, "sfmc_auth",
                       f"--auth-base-url {sandbox.auth_base_url} --client-id {sandbox.client_secret}")
    assert sandbox.client_secret not in text and "client secret" in text


def test_auth_refuses_unknown_and_abbreviated_flags_without_echoing_values(ip, no_prompt):
    text = usage_error(ip.run_line_magic, "sfmc_auth", "--subdomian mcabc")
    assert "--subdomian" in text and "mcabc" not in text
    assert "unrecognized" in usage_error(ip.run_line_magic, "sfmc_auth", "--client abc")
    assert "not allowed with" in usage_error(ip.run_line_magic, "sfmc_auth",
                                             "--subdomain a --auth-base-url http://127.0.0.1/")
    assert "cannot be combined" in usage_error(ip.run_line_magic, "sfmc_auth",
                                               "--sandbox --auth-base-url http://127.0.0.1:1/")
    assert "no other flags" in usage_error(ip.run_line_magic, "sfmc_auth", "--status --sandbox")


def test_help_is_shown_without_a_traceback(ip, capsys):
    result = ip.run_cell("%sfmc_auth -h")
    assert result.success and result.result is None
    out = capsys.readouterr()
    assert "usage: %sfmc_auth" in out.out and "Traceback" not in out.err
    result = ip.run_cell("%%journey_enter -h\nSubscriberKey\n1\n")
    assert result.success
    assert "--contact-key" in capsys.readouterr().out


# --------------------------------------------------------------------------- %%journey_enter


def test_csv_body_keeps_keys_as_text_and_enters_them(logged_in, ip, sandbox, capsys):
    assert ip.run_cell_magic("journey_enter", f"res --event {sandbox.event_key}", CSV) is None
    res = ip.user_ns["res"]
    assert isinstance(res, EntryResult)
    frame = res.to_frame()
    assert list(frame["contactKey"]) == ["00123", "00124"]
    assert list(frame["status"]) == ["queued", "queued"]
    assert sandbox.entry_counts(sandbox.event_key) == {"00123": 1, "00124": 1}
    data = {e["contactKey"]: e["data"] for e in sandbox.entries()}
    assert data["00123"]["FirstName"] == "Ann" and data["00123"]["Email"] == "ann@example.com"
    assert magics_of(ip).last_result is res
    out = capsys.readouterr().out
    assert out.count("Journey entry into") == 1  # shown once, not also as Out[]


def test_json_lines_body_with_braces(logged_in, ip, sandbox):
    body = ('{"SubscriberKey": "j-1", "FirstName": "{not a var}", "City": "Oslo"}\n\n'
            '{"SubscriberKey": "j-2", "FirstName": "Eve", "City": "Rome"}\n')
    result = ip.run_cell(f"%%journey_enter res --event {sandbox.event_key}\n{body}")
    assert result.success, result.error_in_exec
    assert sandbox.entry_counts(sandbox.event_key) == {"j-1": 1, "j-2": 1}
    data = {e["contactKey"]: e["data"] for e in sandbox.entries()}
    assert data["j-1"]["FirstName"] == "{not a var}"
    bad = usage_error(ip.run_cell_magic, "journey_enter", f"--event {sandbox.event_key}", '{"a": 1}\n{oops\n')
    assert "line 2" in bad


def test_from_dataframe_line_and_cell_forms(logged_in, ip, sandbox):
    ip.user_ns["df"] = pd.DataFrame({"SubscriberKey": ["f-1", "f-2", "f-3"], "City": ["A", "B", "C"]})
    assert ip.run_line_magic("journey_enter", f"r1 --from df --event {sandbox.event_key}") is None
    assert ip.user_ns["r1"].counts["queued"] == 3
    assert ip.run_cell_magic("journey_enter", f"r2 --from df --event {sandbox.event_key} --data City --again",
                             "\n") is None   # the same contacts again, on purpose
    assert ip.user_ns["r2"].counts["queued"] == 3
    assert sandbox.entry_counts(sandbox.event_key) == {"f-1": 2, "f-2": 2, "f-3": 2}


def test_from_errors(logged_in, ip, sandbox):
    ip.user_ns["df"] = pd.DataFrame({"SubscriberKey": ["x"]})
    ip.user_ns["notdf"] = [1, 2]
    ev = sandbox.event_key
    assert "not both" in usage_error(ip.run_cell_magic, "journey_enter", f"--from df --event {ev}", CSV)
    assert "no variable named 'nope'" in usage_error(ip.run_line_magic, "journey_enter", f"--from nope --event {ev}")
    assert "not a pandas DataFrame" in usage_error(ip.run_line_magic, "journey_enter", f"--from notdf --event {ev}")
    assert sandbox.entry_counts() == {}


def test_from_file_reads_a_csv_as_text_a_chunk_at_a_time(logged_in, ip, sandbox, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("SubscriberKey,City\n000001,Oslo\n000002,Rome\n")
    ev = sandbox.event_key
    assert ip.run_line_magic("journey_enter", f"r --from-file {path} --event {ev} --data City") is None
    assert ip.user_ns["r"].counts["queued"] == 2
    assert sandbox.entry_counts(ev) == {"000001": 1, "000002": 1}   # leading zeros kept
    assert "no such file" in usage_error(ip.run_line_magic, "journey_enter", f"--from-file nope.csv --event {ev}")
    assert "one of them" in usage_error(ip.run_cell_magic, "journey_enter", f"--from-file {path} --event {ev}", CSV)


def test_empty_body_without_from_is_a_usage_error(logged_in, ip, sandbox):
    assert "no contacts" in usage_error(ip.run_cell_magic, "journey_enter", f"--event {sandbox.event_key}", "  \n\n")
    assert "no contacts" in usage_error(ip.run_line_magic, "journey_enter", f"--event {sandbox.event_key}")
    assert "no rows" in usage_error(ip.run_cell_magic, "journey_enter", f"--event {sandbox.event_key}",
                                    "SubscriberKey,City\n")
    result = ip.run_cell(f"%%journey_enter --event {sandbox.event_key}\n")
    assert isinstance(result.error_in_exec, UsageError)


def test_column_errors_list_the_columns(logged_in, ip, sandbox):
    ev = sandbox.event_key
    text = usage_error(ip.run_cell_magic, "journey_enter", f"--event {ev}", "Id,City\n1,Oslo\n")
    assert "--contact-key" in text and "Id" in text and "City" in text
    text = usage_error(ip.run_cell_magic, "journey_enter", f"--event {ev} --contact-key Key", "Id,City\n1,Oslo\n")
    assert "'Key'" in text and "'Id', 'City'" in text
    text = usage_error(ip.run_cell_magic, "journey_enter", f"--event {ev} --data City,Nope", CSV)
    assert "Nope" in text and "'SubscriberKey', 'Email', 'FirstName'" in text
    assert "not a valid variable" in usage_error(ip.run_cell_magic, "journey_enter", f"1abc --event {ev}", CSV)
    assert sandbox.entry_counts() == {}


def test_contact_key_and_data_flags(logged_in, ip, sandbox):
    body = "Id,Email,City\nk-1,k1@example.com,Oslo\n"
    ip.run_cell_magic("journey_enter", f"--event {sandbox.event_key} --contact-key Id --data City", body)
    entry = sandbox.entries()[0]
    assert entry["contactKey"] == "k-1" and entry["data"] == {"City": "Oslo"}


def test_dry_run_sends_nothing(logged_in, ip, sandbox):
    ip.run_cell_magic("journey_enter", f"res --event {sandbox.event_key} --dry-run", CSV)
    res = ip.user_ns["res"]
    assert res.dry_run and res.preview
    assert sandbox.entry_counts() == {}


def test_unknown_flags_are_refused_on_line_and_cell_magics(logged_in, ip, sandbox):
    ev = sandbox.event_key
    for line in (f"--event {ev} --dryrun", f"--event {ev} --contact SubscriberKey", f"res --event {ev} extra"):
        assert "unrecognized arguments" in usage_error(ip.run_cell_magic, "journey_enter", line, CSV)
    assert "required: --event" in usage_error(ip.run_cell_magic, "journey_enter", f"--even {ev}", CSV)
    for name in ("sfmc_journeys", "sfmc_journey welcome-journey", "sfmc_membership a", "sfmc_exit --journey j a",
                 "sfmc_batch_status rid"):
        magic, _, rest = name.partition(" ")
        assert "unrecognized arguments: --bogus" in usage_error(ip.run_line_magic, magic, f"{rest} --bogus")
    result = ip.run_cell(f"%%journey_enter --event {ev} --no-valdate\n{CSV}")
    assert isinstance(result.error_in_exec, UsageError)
    assert sandbox.entry_counts() == {}


def test_config_traits_reach_the_engine(logged_in, ip, sandbox, monkeypatch, tmp_path):
    from sfmc_nb import engine as entry

    calls = []
    real = entry.enter_journey

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(entry, "enter_journey", spy)
    ev = sandbox.event_key
    ip.run_cell_magic("journey_enter", f"--event {ev}", CSV)
    assert calls[-1]["concurrency"] == 8 and calls[-1]["validate"] is True and calls[-1]["journal"] is None
    assert calls[-1]["progress"] is None and calls[-1]["data"] == "auto" and calls[-1]["contact_key"] == "SubscriberKey"
    ip.run_line_magic("config", "SfmcMagics.concurrency = 2")
    ip.run_line_magic("config", "SfmcMagics.validate = False")
    ip.run_line_magic("config", "SfmcMagics.progress = True")
    ip.run_line_magic("config", f"SfmcMagics.journal_dir = {str(tmp_path / 'journals')!r}")
    ip.run_cell_magic("journey_enter", f"--event {ev} --again", CSV)   # the same contacts on purpose
    assert calls[-1]["concurrency"] == 2 and calls[-1]["validate"] is False
    assert calls[-1]["progress"] is not None and callable(calls[-1]["progress"])
    journals = list((tmp_path / "journals").glob("*.jsonl"))
    assert len(journals) == 1 and calls[-1]["journal"] == str(journals[0])
    assert (journals[0].stat().st_mode & 0o777, journals[0].parent.stat().st_mode & 0o777) == (0o600, 0o700)
    ip.run_line_magic("config", "SfmcMagics.validate = True")
    own = tmp_path / "own.jsonl"
    ip.run_cell_magic("journey_enter", f"--event {ev} --concurrency 3 --no-validate --journal {own} --again", CSV)
    assert calls[-1]["concurrency"] == 3 and calls[-1]["validate"] is False and calls[-1]["journal"] == str(own)
    assert [json.loads(line) for line in own.read_text().splitlines()]
    assert sandbox.entry_counts(ev) == {"00123": 3, "00124": 3}
    assert "at least 1" in usage_error(ip.run_cell_magic, "journey_enter", f"--event {ev} --concurrency 0", CSV)
    assert "at most 32" in usage_error(ip.run_cell_magic, "journey_enter", f"--event {ev} --concurrency 33", CSV)
    assert sandbox.entry_counts(ev) == {"00123": 3, "00124": 3}


@pytest.mark.parametrize("mode", ["text", "html", "widget"])
def test_display_setting_shows_the_result_once(logged_in, ip, sandbox, mode):
    ip.run_line_magic("config", f"SfmcMagics.display = {mode!r}")
    with capture_output() as cap:
        returned = ip.run_cell_magic("journey_enter", f"res --event {sandbox.event_key}", CSV)
    assert returned is None
    if mode == "text":
        assert cap.stdout.count("Journey entry into") == 1 and not cap.outputs
    elif mode == "html":
        assert len(cap.outputs) == 1 and "sfmc-entry-result" in cap.outputs[0].data["text/html"]
        assert "Journey entry into" in cap.outputs[0].data["text/plain"]
    else:
        assert len(cap.outputs) == 1
        assert "application/vnd.jupyter.widget-view+json" in cap.outputs[0].data


class _BrokenModule(types.ModuleType):
    def __getattr__(self, name):
        raise RuntimeError("a bug in the widgets module")


def test_progress_runs_without_widgets_but_a_broken_widgets_module_shows(logged_in, ip, sandbox, monkeypatch):
    ip.run_line_magic("config", "SfmcMagics.progress = True")
    monkeypatch.setitem(sys.modules, "sfmc_nb.widgets", None)  # as if ipywidgets were not installed
    ip.run_cell_magic("journey_enter", f"res --event {sandbox.event_key}", CSV)
    assert ip.user_ns["res"].counts["queued"] == 2
    monkeypatch.setitem(sys.modules, "sfmc_nb.widgets", _BrokenModule("sfmc_nb.widgets"))
    with pytest.raises(RuntimeError, match="a bug in the widgets module"):
        ip.run_cell_magic("journey_enter", f"--event {sandbox.event_key}", CSV)
    assert sandbox.entry_counts(sandbox.event_key) == {"00123": 1, "00124": 1}


def test_library_errors_are_one_line_or_full_traceback(logged_in, ip, sandbox):
    text = usage_error(ip.run_line_magic, "sfmc_journey", "no-such-journey")
    assert text.startswith("HTTP 404 errorcode 30003")
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("sfmc_journey", "no-such-journey")
    assert isinstance(info.value.sfmc_error, sfmc_nb.NotFoundError)
    text = usage_error(ip.run_cell_magic, "journey_enter", "--event NoSuchEvent", CSV)
    assert "NoSuchEvent" in text
    result = ip.run_cell("%sfmc_journey no-such-journey")
    assert isinstance(result.error_in_exec, UsageError)
    ip.run_line_magic("config", "SfmcMagics.short_errors = False")
    with pytest.raises(sfmc_nb.NotFoundError):
        ip.run_line_magic("sfmc_journey", "no-such-journey")
    assert sandbox.entry_counts() == {}


def test_usage_error_is_shown_without_traceback(logged_in, ip, capsys):
    result = ip.run_cell("%sfmc_journey no-such-journey")
    err = capsys.readouterr().err
    assert not result.success
    assert err.startswith("UsageError: HTTP 404") and "Traceback" not in err


@pytest.mark.parametrize("line", ["sfmc_journeys", "sfmc_journey welcome-journey", "sfmc_membership a",
                                  "sfmc_exit --journey j a", "sfmc_exit --status --journey j a",
                                  "sfmc_batch_status rid", "journey_enter --from df --event E"])
def test_not_logged_in(ip, line):
    ip.user_ns["df"] = pd.DataFrame({"SubscriberKey": ["x"]})
    magic, _, rest = line.partition(" ")
    assert "run %sfmc_auth first" in usage_error(ip.run_line_magic, magic, rest)


# --------------------------------------------------------------------------- exploration


def test_journeys_list(logged_in, ip):
    result = ip.run_cell("js = %sfmc_journeys")
    assert result.success
    frame = ip.user_ns["js"]
    assert list(frame.columns) == ["name", "key", "version", "status", "entryMode", "eventKeys",
                                   "currentPopulation", "cumulativePopulation", "id"]
    assert "welcome-journey" in set(frame["key"])
    drafts = ip.run_line_magic("sfmc_journeys", "--status Draft")
    assert len(drafts) >= 1 and set(drafts["status"]) == {"Draft"}
    named = ip.run_line_magic("sfmc_journeys", '--name "Welcome Journey"')
    assert list(named["key"]) == ["welcome-journey"]


def test_one_journey(logged_in, ip, sandbox, monkeypatch):
    info = ip.run_line_magic("sfmc_journey", "welcome-journey --version 1")
    assert isinstance(info, JourneyInfo)
    assert info["status"] == "Published" and info["version"] == 1 and info["entryMode"] == "MultipleEntries"
    assert info["eventKeys"] == [sandbox.event_key]
    assert info["currentPopulation"] is not None and info["cumulativePopulation"] is not None
    assert {"SubscriberKey", "Email", "FirstName"} <= set(info["entryFields"]["name"])
    page = info._repr_html_()
    assert "Published" in page and "SubscriberKey" in page and "<table" in page
    monkeypatch.setitem(sys.modules, "sfmc_nb.widgets", None)  # the card's table needs no widgets
    assert 'class="sfmc-table"' in info._repr_html_()
    assert "SubscriberKey" in repr(info)
    by_id = ip.run_line_magic("sfmc_journey", info["id"])
    assert by_id["key"] == "welcome-journey"


def test_membership_exit_and_batch_status(logged_in, ip, sandbox, capsys):
    ip.run_cell_magic("journey_enter", f"res --event {sandbox.event_key}", CSV)
    wait_processed(sandbox, {"00123", "00124"})
    capsys.readouterr()
    found = ip.run_line_magic("sfmc_membership", "00123 00124 nobody")
    assert set(found["contactKey"]) == {"00123", "00124"}
    assert set(found["definitionKey"]) == {"welcome-journey"} and list(found.columns) == [
        "contactKey", "definitionKey", "version"]
    assert found.attrs["not_found"] == ["nobody"]
    assert "nobody" in capsys.readouterr().out
    ip.user_ns["people"] = pd.DataFrame({"SubscriberKey": ["00123", "00123", None]})
    again = ip.run_line_magic("sfmc_membership", "--from people --contact-key SubscriberKey")
    assert list(again["contactKey"]) == ["00123"]
    assert "not both" in usage_error(ip.run_line_magic, "sfmc_membership", "x --from people")
    assert "give contact keys" in usage_error(ip.run_line_magic, "sfmc_membership", "")

    rid = ip.user_ns["res"].to_frame()["requestId"].iloc[0]
    status = ip.run_line_magic("sfmc_batch_status", rid)
    assert isinstance(status, pd.DataFrame) and set(status["contactKey"]) == {"00123", "00124"}
    assert set(status["requestId"]) == {rid}

    problems = ip.run_line_magic("sfmc_exit", "--journey welcome-journey 00123")
    assert isinstance(problems, pd.DataFrame) and problems.empty
    assert "all accepted" in capsys.readouterr().out
    exits = ip.run_line_magic("sfmc_exit", "--status --journey welcome-journey 00123")
    assert list(exits["contactKey"]) == ["00123"] and exits["message"].notna().all()
    missing = ip.run_line_magic("sfmc_exit", "00124 --journey welcome-journey --version 7")
    assert isinstance(missing, pd.DataFrame)


# --------------------------------------------------------------------------- secrets


def test_nothing_shown_contains_the_secret_or_the_token(ip, monkeypatch, no_prompt, capsys):
    import ipywidgets

    with sandbox_module.start(seed=3, client_secret=KNOWN_SECRET) as sb:
        monkeypatch.setenv("SFMC_CLIENT_SECRET", KNOWN_SECRET)
        seen: list[str] = []

        def run(fn, *args):
            try:
                value = fn(*args)
            except UsageError as exc:
                seen.append(str(exc))
                return None
            seen.append(repr(value))
            if value is not None:
                data, meta = ip.display_formatter.format(value)
                seen.append(json.dumps(data, default=str))
            return value

        with capture_output() as cap:
            assert "saved in the notebook" in usage_error(
                ip.run_line_magic, "sfmc_auth", f"--auth-base-url {sb.auth_base_url} --client-secret {KNOWN_SECRET}")
            conn = run(ip.run_line_magic, "sfmc_auth", f"--auth-base-url {sb.auth_base_url} --client-id {sb.client_id}")
            assert isinstance(conn, sfmc_nb.Connection)
            token = conn.tokens.current.value.reveal()
            ip.user_ns["df"] = pd.DataFrame({"SubscriberKey": ["s-1", "s-2"], "City": ["A", "B"]})
            run(ip.run_line_magic, "sfmc_auth", "--status")
            run(ip.run_line_magic, "config", "SfmcMagics")
            for mode in ("widget", "html", "text"):
                ip.run_line_magic("config", f"SfmcMagics.display = {mode!r}")
                run(ip.run_cell_magic, "journey_enter", f"res --event {sb.event_key}", CSV)
                run(ip.run_line_magic, "journey_enter", f"--from df --event {sb.event_key} --dry-run")
            run(ip.run_cell_magic, "journey_enter", "--event NoSuchEvent", CSV)
            run(ip.run_line_magic, "sfmc_journeys", "")
            run(ip.run_line_magic, "sfmc_journey", "welcome-journey")
            run(ip.run_line_magic, "sfmc_journey", "no-such-journey")
            run(ip.run_line_magic, "sfmc_membership", "00123 nobody")
            run(ip.run_line_magic, "sfmc_exit", "--journey welcome-journey 00123")
            run(ip.run_line_magic, "sfmc_exit", "--status --journey welcome-journey 00123")
            rid = ip.user_ns["res"].to_frame()["requestId"].iloc[0]
            run(ip.run_line_magic, "sfmc_batch_status", rid)
            run(ip.run_line_magic, "sfmc_auth", "--bogus")
            ip.run_cell("%sfmc_journey no-such-journey")  # shown by IPython as the user sees it
            ip.run_cell("%sfmc_auth --status")
            run(ip.run_line_magic, "sfmc_auth", "--logout")
        captured = capsys.readouterr()
        seen += [cap.stdout, cap.stderr, captured.out, captured.err]
        seen += [json.dumps(o.data, default=str) + json.dumps(o.metadata, default=str) for o in cap.outputs]
        seen.append(json.dumps(ipywidgets.Widget.get_manager_state(drop_defaults=False), default=str))
        everything = "\n".join(seen)
        assert "Journey entry into" in everything and "welcome-journey" in everything  # the runs were captured
        assert len(cap.outputs) >= 2
        assert KNOWN_SECRET not in everything
        assert token not in everything
