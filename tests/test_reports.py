"""Errors read by reason, and the reports a terminal reads: ``error_reasons()``, the Markdown and text reprs."""

from __future__ import annotations

import pandas as pd
import pytest
from _sandbox_helpers import fast_conn

import sfmc_nb
from sfmc_nb import enter_journey
from sfmc_nb._reasons import fix_for, group_reasons, reason_text
from sfmc_nb._rules import MAX_CONTACT_KEY_LENGTH
from sfmc_nb.results import EntryResult


def test_a_hundred_rows_failing_with_the_same_http_500_read_as_one_line(sandbox):
    sandbox.inject("500", 10_000)
    df = pd.DataFrame({"SubscriberKey": [f"h{i:03d}" for i in range(100)]})
    res = enter_journey(df, sandbox.event_key, connection=fast_conn(sandbox), batch_size=10, data=None,
                        landing_horizon=0.2)   # a 5xx leaves the batch in doubt until its horizon
    reasons = res.error_reasons()
    assert list(reasons.columns) == ["reason", "status", "errorcode", "count", "example", "fix"]
    assert len(reasons) == 1
    row = reasons.iloc[0]
    assert row["count"] == 100 and row["status"] == "failed" and "HTTP 500" in row["reason"]
    assert row["example"] == "h000" and row["fix"] == ".retry() later"
    text = " ".join(repr(res).split())
    assert "100 rows did not queue, by reason:" in text and "; fix: .retry() later" in text


def test_reasons_fold_the_values_that_differ_and_name_the_fix(sandbox):
    df = pd.DataFrame({"SubscriberKey": ["k1", "k2", "k3", "", "   ", None, "k7", "k7"],
                       "Email": ["bad1", "bad2", "ok@example.com", "a@example.com", "b@example.com", "c@x.org",
                                 "d@example.com", "e@example.com"]})
    res = enter_journey(df, sandbox.event_key, connection=fast_conn(sandbox), data=["Email"], duplicates="drop")
    reasons = res.error_reasons().set_index("reason")
    email = "Field 'Email' expects an email address, got '…'."
    assert reasons.loc[email, "count"] == 2 and reasons.loc[email, "example"] == "k1"
    assert reasons.loc[email, "errorcode"] == 10003 and "email addresses" in reasons.loc[email, "fix"]
    blank = reasons.loc["blank contact key (empty or only whitespace)"]
    assert blank["count"] == 2 and blank["example"] == "row 3" and blank["fix"] == "fill in the SubscriberKey column"
    assert reasons.loc["missing contact key", "fix"] == "fill in the SubscriberKey column"
    assert reasons.loc["duplicate of an earlier row", "count"] == 1
    assert list(res.error_reasons()["count"]) == sorted(res.error_reasons()["count"], reverse=True)


def test_reason_text_and_fixes():
    assert reason_text(None, "unknown") == "unknown"
    assert reason_text("column 'Name': text of 61 characters exceeds the limit of 50", "skipped") == \
        "column 'Name': text exceeds the limit of 50 characters"
    assert reason_text("duplicate of row 12; missing contact key", "skipped") == \
        "duplicate of an earlier row; missing contact key"
    assert fix_for("unknown", "answer lost").startswith(".retry() checks them")
    assert fix_for("failed", "throttled for more than 300 s; call .retry() later").startswith(".retry() later")
    assert fix_for("queued", "whatever") == ""


def test_no_errors_no_reasons():
    res = EntryResult("E", pd.RangeIndex(2), ["a", "b"])
    for pos in range(2):
        res.set_row(pos, "queued", event_instance_id=f"e{pos}")
    assert res.error_reasons().empty and list(res.error_reasons().columns)[0] == "reason"
    assert res._repr_markdown_().startswith("**Journey entry into 'E': 2 rows: 2 queued")


def test_the_markdown_report_is_bounded_and_has_no_html(sandbox):
    df = pd.DataFrame({"SubscriberKey": [f"m{i:03d}" for i in range(300)],
                       "Email": ["bad"] * 40 + [f"m{i}@example.com" for i in range(260)],
                       "Notes": ["n"] * 300})
    with pytest.warns(sfmc_nb.SfmcWarning, match="left out 'Notes'"):
        res = enter_journey(df, sandbox.event_key, connection=fast_conn(sandbox))
    text = res._repr_markdown_()
    assert "<" not in text.replace("<NA>", "") and "40 rows did not queue, by reason:" in text
    assert "- ⚠ data='auto' left out 'Notes'" in text and "The rows (first 10):" in text
    assert text.count("\n| ") < 20
    table = [line for line in text.splitlines() if line.startswith("| reason")]
    assert table and "| count |" in table[0] and "| fix" in table[0]


def test_reasons_merge_messages_that_fold_alike_and_keep_the_first_row_as_example():
    keys = ["a", "b", "c", "d", "e", " ", "g", "h"]
    res = EntryResult("E", pd.Index([f"L{i}" for i in range(8)]), keys)
    res.set_row(0, "queued", event_instance_id="e0")
    res.set_row(1, "not_queued", errorcode=10003, message="Field 'Email' expects an email address, got 'x'.")
    res.set_row(2, "failed", message=None)                                   # no message: the status is the reason
    res.set_row(3, "not_queued", errorcode=10003, message="Field 'Email' expects an email address, got 'y'.")
    res.set_row(4, "skipped", message="blank contact key")
    res.set_row(5, "failed", message=None)
    res.set_row(6, "skipped", message="blank contact key")
    res.set_row(7, "not_queued", errorcode=10003, message="Field 'Email' expects an email address, got 'z'.")
    reasons = res.error_reasons()
    assert reasons["reason"].tolist() == ["Field 'Email' expects an email address, got '…'.", "failed",
                                          "blank contact key"]   # most rows first; equal counts in status order
    assert reasons["count"].tolist() == [3, 2, 2]
    assert reasons["example"].tolist() == ["b", "c", "e"]
    assert reasons["errorcode"].tolist()[0] == 10003 and pd.isna(reasons["errorcode"].iloc[1])
    res.set_row(2, "failed", message="  ")                                   # a blank message reads as none too
    again = res.error_reasons()
    assert again.loc[again["reason"] == "failed", "example"].tolist() == ["c"]
    assert again.loc[again["reason"] == "failed", "count"].tolist() == [2]
    pd.testing.assert_frame_equal(group_reasons(res.errors()), again)   # from a frame: the same table


def test_the_reports_show_the_first_error_rows_and_count_them_all():
    res = EntryResult("E", pd.RangeIndex(100), [f"k{i:02d}" for i in range(100)])
    for pos in range(100):
        if pos % 4:
            res.set_row(pos, "queued", event_instance_id=f"e{pos}")
        else:
            res.set_row(pos, "not_queued", errorcode=10003, message=f"bad email {pos}")
    markdown = res._repr_markdown_()
    assert "25 rows did not queue, by reason:" in markdown and "The rows (first 10):" in markdown
    assert "_rows 1–10 of 25_" in markdown and "| k36 " in markdown and "| k40 " not in markdown
    page = res._repr_html_()
    assert "Rows that did not queue (25; first 20):" in page and ">k76<" in page and ">k80<" not in page
    plain = repr(res)
    assert "25 rows did not queue (first 10):" in plain and "k36" in plain and "k40" not in plain


def test_a_key_over_the_limit_is_refused_with_the_fix_naming_that_limit(sandbox):
    """The limit on contact keys is written once: the refusal and its fix both name it."""
    df = pd.DataFrame({"SubscriberKey": ["ok-1", "k" * (MAX_CONTACT_KEY_LENGTH + 1)]})
    res = enter_journey(df, sandbox.event_key, connection=fast_conn(sandbox), data=None, dry_run=True)
    reasons = res.error_reasons()
    assert len(reasons) == 1 and reasons.iloc[0]["count"] == 1
    assert f"longer than {MAX_CONTACT_KEY_LENGTH} characters" in reasons.iloc[0]["reason"]
    assert reasons.iloc[0]["fix"] == f"shorten the keys: Marketing Cloud takes at most {MAX_CONTACT_KEY_LENGTH} " \
        "characters"
