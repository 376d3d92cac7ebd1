"""Reading a ``%%journey_enter`` cell body: CSV and JSON taken as written, anything doubtful refused with its line."""

from __future__ import annotations

import csv
import io
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

from sfmc_nb.magics._cells import read_body

PROG = "%%journey_enter"
TRAILING_COMMA = "SubscriberKey,FirstName,Email\n000123,Ann,ann@example.com,\n000124,Bob,bob@example.com,\n"
GOOD = "SubscriberKey,FirstName,Email\n000123,Ann,ann@example.com\n000124,Bob,bob@example.com\n"


def refusal(body: str) -> str:
    """The one-line message of the ``UsageError`` that ``read_body`` raises for ``body``."""
    with pytest.raises(UsageError) as info:
        read_body(body, PROG)
    assert type(info.value) is UsageError  # exactly UsageError: IPython shows it as one line, no traceback
    text = str(info.value)
    assert "\n" not in text and text.startswith(f"{PROG}: ")
    return text


def refused_line(body: str) -> int:
    found = re.search(r"line (\d+) of the cell body", refusal(body))
    assert found is not None
    return int(found.group(1))


def values(frame: pd.DataFrame) -> list[list[str | None]]:
    """The frame's rows, missing values as None."""
    return [[None if pd.isna(v) else v for v in row] for row in frame.astype(object).itertuples(index=False)]


# --------------------------------------------------------------------------- CSV: accepted forms


def test_every_value_is_text_in_header_order_with_a_plain_index():
    frame = read_body("SubscriberKey,Email,Score,Flag\n000123,a@example.com,1e5,TRUE\n00124,,NA,null\n", PROG)
    assert list(frame.columns) == ["SubscriberKey", "Email", "Score", "Flag"]
    assert values(frame) == [["000123", "a@example.com", "1e5", "TRUE"], ["00124", None, "NA", "null"]]
    assert all(pd.api.types.is_string_dtype(t) for t in frame.dtypes)
    assert frame.index.equals(pd.RangeIndex(2))


def test_an_empty_field_is_missing_whether_or_not_it_is_quoted():
    frame = read_body('K,A,B\n1,,""\n2, ,"x"\n', PROG)
    assert values(frame) == [["1", None, None], ["2", None, "x"]]
    assert frame["A"].isna().tolist() == [True, True]


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_line_ends_and_a_byte_order_mark(end):
    body = "\ufeffSubscriberKey,City" + end + "001,Oslo" + end + end + "002,Rome" + end
    frame = read_body(body, PROG)
    assert list(frame.columns) == ["SubscriberKey", "City"]
    assert values(frame) == [["001", "Oslo"], ["002", "Rome"]]


def test_quoted_values_hold_commas_quotes_and_line_breaks():
    body = 'K,Note,City\n1,"Smith, Ann","She said ""hi"""\n2,"two\nlines",Oslo\n3,"crlf\r\nkept",Rome\n'
    assert values(read_body(body, PROG)) == [["1", "Smith, Ann", 'She said "hi"'], ["2", "two\nlines", "Oslo"],
                                             ["3", "crlf\r\nkept", "Rome"]]


def test_white_space_is_stripped_on_both_sides_unless_quoted():
    body = ' K , Name ,City\t\n 001 ,  Ann Lee  ,\tOslo\t\n002, "  kept  ",\n003,"\tx\t",\u00a0Rome\u00a0\n'
    frame = read_body(body, PROG)
    assert list(frame.columns) == ["K", "Name", "City"]
    assert values(frame) == [["001", "Ann Lee", "Oslo"], ["002", "  kept  ", None], ["003", "\tx\t", "Rome"]]


def test_values_that_look_like_json_or_missing_stay_text():
    frame = read_body("K,A\n1,None\n2,nan\n3,{x}\n", PROG)
    assert values(frame) == [["1", "None"], ["2", "nan"], ["3", "{x}"]]


def test_blank_lines_anywhere_are_skipped():
    frame = read_body("\n\n  \nK,A\n\n1,x\n \t \n2,y\n\n", PROG)
    assert values(frame) == [["1", "x"], ["2", "y"]]


def test_a_single_column_body():
    assert values(read_body("SubscriberKey\n001\n\n002\n", PROG)) == [["001"], ["002"]]


@pytest.mark.parametrize(("body", "city"), [
    ("K\tCity\n001\tOslo; Rome\n", "Oslo; Rome"),
    ("K;City\n001;Oslo, Rome\n", "Oslo, Rome"),
    ('"K"\t"City"\n001\t"Oslo; Rome"\n', "Oslo; Rome"),
    ('K;City\n001;"a;b"\n', "a;b"),
])
def test_tabs_or_semicolons_when_the_header_has_no_comma(body, city):
    assert values(read_body(body, PROG)) == [["001", city]]


def test_a_comma_in_the_header_makes_it_comma_separated():
    frame = read_body("K,Name;Alias\n001,a;b\n", PROG)
    assert list(frame.columns) == ["K", "Name;Alias"] and values(frame) == [["001", "a;b"]]
    frame = read_body('"Last;First"\tEmail\nLee;Ann\ta@example.com\n', PROG)  # a quoted name does not decide
    assert list(frame.columns) == ["Last;First", "Email"]


# --------------------------------------------------------------------------- CSV: refusals


def test_a_trailing_comma_is_refused_not_shifted():
    text = refusal(TRAILING_COMMA)
    assert "line 2 of the cell body" in text and "4 fields but the header has 3" in text
    assert "remove the trailing comma or add a column name" in text
    assert "000123,Ann,ann@example.com," in text


def test_too_few_and_too_many_fields_say_what_to_change():
    text = refusal("K,A,B\n1,x,y\n2,x\n")
    assert "line 3 of the cell body" in text and "2 fields but the header has 3" in text
    assert "add the missing values" in text
    text = refusal("K,Name\n1,Lee, Ann\n")
    assert "line 2 of the cell body" in text and "3 fields but the header has 2" in text and "quote" in text
    text = refusal("K\tA\n1\tx\t\t\n")
    assert "4 fields but the header has 2" in text and "remove the trailing tabs" in text


def test_the_line_counts_blank_lines_and_lines_inside_quotes():
    body = 'K,Note\n\n1,"a\nb\nc"\n\n2,ok\n3,x,\n'
    assert refused_line(body) == 8
    assert refused_line(body.replace("\n", "\r\n")) == 8


@pytest.mark.parametrize(("header", "expected"), [
    ("K,A,A", "repeats the column name A"),
    ("K, A ,A", "repeats the column name A"),
    ("K,A,", "column 3 of the header (line 1) has no name: remove the trailing comma"),
    ("K,,A", "column 2 of the header (line 1) has no name: name every column"),
    ('K,"  "', "column 2 of the header (line 1) has no name"),
])
def test_header_names_are_unique_and_not_empty(header, expected):
    assert expected in refusal(f"{header}\n1,2,3\n")


@pytest.mark.parametrize("body", ["K,A\n", "\n\nK,A\n\n  \n"])
def test_a_header_without_rows_is_refused(body):
    assert "a header (line" in refusal(body) and "no rows" in refusal(body)


@pytest.mark.parametrize("body", ["", "\n\n", "  \n\t\n", "\ufeff", "\ufeff\n \n"])
def test_an_empty_body_is_refused(body):
    assert "the cell body is empty" in refusal(body)


def test_an_unterminated_quote_names_the_line_its_row_starts_on():
    text = refusal('K,Note\n1,ok\n2,"never closed\n3,x\n4,y\n')
    assert "the row starting on line 3 of the cell body" in text and "never closes" in text


def test_text_after_a_closing_quote_is_refused_with_its_line():
    text = refusal('K,Note\n1,"a\nb" c,x\n')
    assert "line 3 of the cell body" in text and "after a closing quote" in text


def test_a_header_with_both_tabs_and_semicolons_is_refused():
    assert "both tabs and semicolons" in refusal("K\tA;B\n1\t2\n")


# --------------------------------------------------------------------------- JSON


def test_json_lines_keep_values_and_skip_blank_lines():
    body = '{"K": "001", "City": "Oslo\u2028Nord", "N": 2}\n\n{"K": "002", "Ok": true, "City": null}\n'
    frame = read_body(body, PROG)
    assert list(frame.columns) == ["K", "City", "N", "Ok"]
    assert frame.loc[0, "City"] == "Oslo\u2028Nord" and frame.loc[1, "K"] == "002"
    assert frame.index.equals(pd.RangeIndex(2))


def test_a_json_list_of_objects_over_several_lines():
    frame = read_body('[\n  {"K": "001"},\n  {"K": "002", "City": "  Oslo "}\n]\n', PROG)
    assert values(frame) == [["001", None], ["002", "  Oslo "]]


@pytest.mark.parametrize(("body", "expected"), [
    ('{"K": 1}\n{oops\n', "line 2 of the cell body is not valid JSON"),
    ('{"K": 1}\n\n[1, 2]\n', "line 3 of the cell body is a list, not a JSON object"),
    ('{"K": 1}\n"text"\n', "line 2 of the cell body is text, not a JSON object"),
    ('{"K": 1, "Tags": ["a"]}\n', "line 1 of the cell body: the field 'Tags' holds a list"),
    ('{"K": 1}\n{"K": 2, "Home": {"City": "Oslo"}}\n', "line 2 of the cell body: the field 'Home' holds an object"),
    ('{"K": 1, "K": 2}\n', "line 1 of the cell body gives the field 'K' more than once"),
    ('[{"K": 1},\n 2]', "item 2 of the JSON list (line 2 of the cell body) is a number, not an object"),
    ('[\n{"K": 1},\n\n{"K": [2]}]', "item 2 of the JSON list (line 4 of the cell body): the field 'K' holds a list"),
    ('[{"K": 1}, {"K": 2, "K": 3}]', "item 2 of the JSON list (line 1 of the cell body) gives the field 'K'"),
    ('[{"K": 1},\n {"K": 2}', "the cell body is not valid JSON"),
    ("[]", "the JSON list is empty"),
])
def test_json_refusals_name_the_line(body, expected):
    assert expected in refusal(body)


# --------------------------------------------------------------------------- properties

NAME = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=8)
KEY = st.from_regex(r"\A0[0-9]{0,6}\Z")
ANY_TEXT = st.text(max_size=12)
# The stdlib writer leaves a lone \r unquoted when lines end in \n (no reader could tell it from a line end),
# and white space around an unquoted value is stripped on reading: neither can come back from QUOTE_MINIMAL.
MINIMAL_TEXT = st.text(st.characters(exclude_characters="\r"), max_size=12).filter(lambda v: v == v.strip())


@st.composite
def tables(draw, value=ANY_TEXT):
    """A header of unique names and rows of values (the first column a key with leading zeros or any text)."""
    names = draw(st.lists(NAME, min_size=1, max_size=5, unique=True))
    row = st.tuples(st.one_of(KEY, value), *[value] * (len(names) - 1)).map(list)
    return names, draw(st.lists(row, min_size=1, max_size=6))


def written(names, rows, quoting, terminator) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=quoting, lineterminator=terminator)
    writer.writerow(names)
    writer.writerows(rows)
    return out.getvalue()


@settings(max_examples=100, deadline=None)
@given(tables(), st.sampled_from(["\n", "\r\n"]))
def test_every_quoted_value_comes_back_exactly(table, terminator):
    names, rows = table
    frame = read_body(written(names, rows, csv.QUOTE_ALL, terminator), PROG)
    assert list(frame.columns) == names
    assert values(frame) == [[v or None for v in row] for row in rows]


@settings(max_examples=100, deadline=None)
@given(tables(MINIMAL_TEXT), st.sampled_from(["\n", "\r\n"]))
def test_minimally_quoted_values_come_back_exactly(table, terminator):
    names, rows = table
    frame = read_body(written(names, rows, csv.QUOTE_MINIMAL, terminator), PROG)
    assert list(frame.columns) == names
    assert values(frame) == [[v or None for v in row] for row in rows]


PLAIN = st.text(st.characters(categories=["L", "N", "P"], exclude_characters=',";'), max_size=8)
PAD = st.text(" \t", max_size=3)


def quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.tuples(PAD, PLAIN, PAD, st.just(False)),
                          st.tuples(st.text(" ", max_size=2), ANY_TEXT, st.just(""), st.just(True))),
                min_size=2, max_size=5))
def test_unquoted_values_lose_white_space_on_both_sides_and_quoted_ones_keep_it(fields):
    line = ",".join(before + (quoted(text) if is_quoted else text) + after for before, text, after, is_quoted in fields)
    header = ",".join(f"C{i}" for i in range(len(fields)))
    frame = read_body(f"{header}\n{line}\n", PROG)
    assert values(frame) == [[(text if is_quoted else text.strip()) or None for _, text, _, is_quoted in fields]]


@settings(max_examples=100, deadline=None)
@given(tables(), st.data())
def test_a_row_with_the_wrong_field_count_is_refused_with_its_line(table, data):
    names, rows = table
    bad = data.draw(st.integers(0, len(rows) - 1), label="bad row")
    if len(names) > 1 and data.draw(st.booleans(), label="drop"):
        rows[bad] = rows[bad][:data.draw(st.integers(1, len(names) - 1), label="kept")]
    else:
        rows[bad] = rows[bad] + data.draw(st.lists(st.text(max_size=4), min_size=1, max_size=2), label="extra")
    blank_before = data.draw(st.lists(st.booleans(), min_size=len(rows), max_size=len(rows)), label="blanks")
    terminator = data.draw(st.sampled_from(["\n", "\r\n"]), label="line end")
    body, line = written(names, [], csv.QUOTE_ALL, terminator), 1
    for i, row in enumerate(rows):
        out = io.StringIO(newline="")
        csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator=terminator).writerow(row)
        text = ("\n" if blank_before[i] else "") + out.getvalue()
        if i == bad:
            expected = line + 1 + blank_before[i]
        line += len(io.StringIO(text, newline="").readlines())
        body += text
    assert refused_line(body) == expected
    assert f"{len(rows[bad])} field" in refusal(body) and f"the header has {len(names)}" in refusal(body)


# --------------------------------------------------------------------------- through the magic


@pytest.mark.parametrize("flags", ["--dry-run", ""])
def test_a_trailing_comma_cell_is_refused_before_anything_is_sent(sandbox_shell, sandbox, flags):
    requests = len(sandbox.request_log)
    result = sandbox_shell.run_cell(f"%%journey_enter res --event {sandbox.event_key} {flags}\n{TRAILING_COMMA}")
    assert type(result.error_in_exec) is UsageError
    assert "line 2 of the cell body" in str(result.error_in_exec)
    assert "remove the trailing comma" in str(result.error_in_exec)
    assert len(sandbox.request_log) == requests and "res" not in sandbox_shell.user_ns
    assert sandbox.entry_counts() == {}


def test_a_good_cell_previews_and_enters_the_keys_as_written(sandbox_shell, sandbox):
    result = sandbox_shell.run_cell(f"%%journey_enter res --event {sandbox.event_key} --dry-run\n{GOOD}")
    assert result.success, result.error_in_exec
    preview = sandbox_shell.user_ns["res"].preview[0]
    assert [m["contactKey"] for m in preview] == ["000123", "000124"]
    assert preview[0]["data"] == {"FirstName": "Ann", "Email": "ann@example.com"}
    assert sandbox.entry_counts() == {}
    result = sandbox_shell.run_cell(f"%%journey_enter res --event {sandbox.event_key}\n{GOOD}")
    assert result.success, result.error_in_exec
    assert sandbox.entry_counts(sandbox.event_key) == {"000123": 1, "000124": 1}
    data = {e["contactKey"]: e["data"] for e in sandbox.entries()}
    assert data["000123"]["FirstName"] == "Ann" and data["000124"]["Email"] == "bob@example.com"


def test_a_lone_surrogate_in_a_cell_is_kept_as_text_whatever_stores_pandas_text():
    frame = read_body("SubscriberKey,FirstName\nk1,a\ud800b\n", PROG)   # pyarrow's text storage refuses this
    assert frame["FirstName"].tolist() == ["a\ud800b"] and frame["SubscriberKey"].tolist() == ["k1"]
