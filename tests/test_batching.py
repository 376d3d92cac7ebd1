"""Batching: DataFrame rows to strict-JSON batch-entry members (no HTTP involved)."""

from __future__ import annotations

import datetime as dt
import decimal
import inspect
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sfmc_nb.accessor  # noqa: F401  (registers df.sfmc)
from sfmc_nb._rules import dumps_strict
from sfmc_nb.batching import MAX_BATCH_SIZE, Batch, PreparedRows, prepare
from sfmc_nb.errors import SfmcError, SfmcWarning, ValidationError


def members_of(prepared: PreparedRows, size: int = 100) -> list[dict]:
    return [m for b in prepared.batches(size) for m in b.members]


def data_of(prepared: PreparedRows) -> list[dict]:
    return [m.get("data") for m in members_of(prepared)]


def others(df: pd.DataFrame, key="SubscriberKey") -> list:
    """Every column but the key: what ``data="all"`` resolves to (``prepare`` takes resolved columns)."""
    return [c for c in df.columns if c != key]


def frame(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    return pd.DataFrame({"SubscriberKey": [f"k{i}" for i in range(n)], **cols})


# ---------------------------------------------------------------------------------------------- values


def test_missing_values_become_null_by_default():
    df = frame(
        s=pd.array(["a", None], dtype="str"),
        f=[1.5, np.nan],
        d=pd.to_datetime(["2024-01-02", None]),
        o=["x", None],
        n=pd.array([1, pd.NA], dtype="Int64"),
        b=pd.array([True, pd.NA], dtype="boolean"),
        tz=pd.to_datetime(["2024-01-02", None]).tz_localize("UTC"),
    )
    prepared = prepare(df, data=others(df))
    assert prepared.skipped == {}
    rows = data_of(prepared)
    assert rows[1] == dict.fromkeys(["s", "f", "d", "o", "n", "b", "tz"])
    assert rows[0] == {"s": "a", "f": 1.5, "d": "2024-01-02T00:00:00", "o": "x", "n": 1, "b": True,
                       "tz": "2024-01-02T00:00:00+00:00"}
    assert b'"f":null' in dumps_strict(members_of(prepared))


def test_na_omit_leaves_missing_fields_out():
    df = frame(s=pd.array(["a", None, "c"], dtype="str"), f=[np.nan, 2.0, 3.0],
               d=pd.to_datetime(["2024-01-02", None, None]), o=[None, pd.NA, "z"])
    rows = data_of(prepare(df, data=["s", "f", "d", "o"], na="omit"))
    assert rows == [{"s": "a", "d": "2024-01-02T00:00:00"}, {"f": 2.0}, {"s": "c", "f": 3.0, "o": "z"}]


def test_numpy_scalars_become_python_values_and_booleans_stay_booleans():
    df = frame(i=np.array([1, 2], dtype=np.int32), u=np.array([3, 2**64 - 1], dtype=np.uint64),
               f=np.array([0.5, 1.0], dtype=np.float32), b=[True, False],
               o=[np.int64(7), np.bool_(True)], p=[np.float64(2.5), np.str_("s")])
    rows = data_of(prepare(df, data=others(df)))
    assert rows[0] == {"i": 1, "u": 3, "f": 0.5, "b": True, "o": 7, "p": 2.5}
    assert rows[1] == {"i": 2, "u": 2**64 - 1, "f": 1.0, "b": False, "o": True, "p": "s"}
    for row in rows:
        assert {type(v) for v in row.values()} <= {int, float, bool, str}
    assert type(rows[1]["o"]) is bool and type(rows[0]["b"]) is bool
    assert b'"b":true' in dumps_strict(rows[0])


def test_naive_datetimes_are_iso_like_timestamp_isoformat():
    values = ["2024-05-01 09:30:00", "2024-05-01 09:30:00.5", "1969-12-31 23:59:59.25",
              "2000-02-29 00:00:00.000000001", "1900-01-01", None]
    df = frame(d=pd.to_datetime(values, format="mixed").as_unit("ns"))
    got = [r["d"] for r in data_of(prepare(df, data=["d"]))]
    assert got == ["2024-05-01T09:30:00", "2024-05-01T09:30:00.500000", "1969-12-31T23:59:59.250000",
                   "2000-02-29T00:00:00.000000001", "1900-01-01T00:00:00", None]
    assert got[:-1] == [pd.Timestamp(v).isoformat() for v in values[:-1]]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_datetime_units_format_the_same(unit):
    values = pd.to_datetime(["2024-05-01 09:30:00", "2024-05-01 09:30:01.123", None], format="ISO8601")
    df = frame(d=values.floor("s" if unit == "s" else "ms").as_unit(unit))
    got = [r["d"] for r in data_of(prepare(df, data=["d"]))]
    second = "2024-05-01T09:30:01" if unit == "s" else "2024-05-01T09:30:01.123000"
    assert got == ["2024-05-01T09:30:00", second, None]


def test_tz_aware_datetimes_keep_their_offset():
    paris = pd.to_datetime(["2024-01-15 10:00", "2024-07-15 10:00:00.25", None], format="mixed").tz_localize(
        "Europe/Paris")
    df = frame(paris=paris, utc=paris.tz_convert("UTC"), kolkata=paris.tz_convert("Asia/Kolkata"),
               obj=pd.Series(list(paris), dtype=object))
    rows = data_of(prepare(df, data=others(df)))
    assert rows[0] == {"paris": "2024-01-15T10:00:00+01:00", "utc": "2024-01-15T09:00:00+00:00",
                       "kolkata": "2024-01-15T14:30:00+05:30", "obj": "2024-01-15T10:00:00+01:00"}
    assert rows[1]["paris"] == "2024-07-15T10:00:00.250000+02:00" == paris[1].isoformat()
    assert rows[2] == dict.fromkeys(["paris", "utc", "kolkata", "obj"])


def test_dates_and_decimals_in_object_columns():
    df = frame(o=[dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4, 5), decimal.Decimal("1E+2"),
                  decimal.Decimal("0.10"), decimal.Decimal("NaN")])
    assert [r["o"] for r in data_of(prepare(df, data=["o"]))] == [
        "2024-01-02", "2024-01-02T03:04:05", "100", "0.10", None]


@pytest.mark.parametrize("bad, kind", [
    (math.inf, "inf"), (-math.inf, "-inf"),
])
def test_infinity_refuses_the_row_in_float_columns(bad, kind):
    df = frame(score=[1.0, bad, 2.0], name=["a", "b", "c"])
    prepared = prepare(df, data=["score", "name"])
    assert prepared.sendable_positions == [0, 2]
    assert prepared.skipped == {1: f"column 'score': float value {kind} is not valid JSON"}
    assert [m["contactKey"] for m in members_of(prepared)] == ["k0", "k2"]


def test_infinity_refuses_in_object_and_nullable_columns():
    df = frame(o=["x", math.inf, decimal.Decimal("-Infinity")], n=pd.array([1.0, 2.0, np.inf], dtype="Float64"))
    prepared = prepare(df, data=["o", "n"])
    assert prepared.sendable_positions == [0]
    assert "column 'o'" in prepared.skipped[1] and "inf" in prepared.skipped[1]
    assert "column 'o'" in prepared.skipped[2] and "column 'n'" in prepared.skipped[2]


@pytest.mark.parametrize("value, type_name", [
    ({"a": 1}, "dict"), ([1, 2], "list"), ({1}, "set"), ((1,), "tuple"), (np.array([1]), "ndarray"),
])
def test_nested_objects_refuse_the_row(value, type_name):
    df = frame(o=pd.Series(["ok", value], dtype=object))
    prepared = prepare(df, data=["o"])
    assert prepared.sendable_positions == [0]
    assert "column 'o'" in prepared.skipped[1] and type_name in prepared.skipped[1]
    assert "nested" in prepared.skipped[1]


@pytest.mark.parametrize("value, type_name", [
    (b"\x00", "bytes"), (bytearray(b"x"), "bytearray"), (1 + 2j, "complex"), (object(), "object"),
    (pd.Timedelta("1s"), "Timedelta"), (pd.Period("2024-01", "M"), "Period"),
])
def test_other_objects_refuse_the_row_naming_the_type(value, type_name):
    df = frame(o=pd.Series(["ok", value], dtype=object))
    prepared = prepare(df, data=["o"])
    assert prepared.sendable_positions == [0]
    assert prepared.skipped[1].startswith("column 'o': ") and type_name in prepared.skipped[1]


def test_timedelta_and_complex_columns_refuse_their_rows():
    df = frame(td=pd.to_timedelta(["1s", None]), c=np.array([1 + 1j, np.nan], dtype=complex))
    prepared = prepare(df, data=["td"])
    assert prepared.sendable_positions == [1] and "timedelta" in prepared.skipped[0]
    assert data_of(prepared) == [{"td": None}]
    assert "complex" in prepare(df, data=["c"]).skipped[0]


# pyarrow-backed text (pandas' default str once pyarrow is installed) cannot hold a lone surrogate at all
@pytest.mark.parametrize("dtype", [object, pd.StringDtype("python", na_value=np.nan)])
def test_lone_surrogates_refuse_the_row(dtype):
    df = pd.DataFrame({"SubscriberKey": ["a\ud800", "b", "c"], "s": ["x", "y\udfff", "z"]}, dtype=dtype)
    prepared = prepare(df, data=["s"])
    assert prepared.sendable_positions == [2]
    assert "contact key" in prepared.skipped[0] and "column 's'" in prepared.skipped[1]
    assert prepared.keys[0] is None
    dumps_strict(members_of(prepared))


def test_strings_stay_strings_and_categoricals_work():
    df = frame(s=["1", "true", "null"], c=pd.Categorical(["x", None, "y"]),
               ci=pd.Categorical([1, 2, None]))
    assert data_of(prepare(df, data=others(df))) == [{"s": "1", "c": "x", "ci": 1}, {"s": "true", "c": None, "ci": 2},
                                                 {"s": "null", "c": "y", "ci": None}]


# ---------------------------------------------------------------------------------------------- keys


def test_blank_and_missing_keys_refuse_the_row_but_other_keys_are_kept_exactly():
    df = pd.DataFrame({"SubscriberKey": pd.array(["", "  ", "\t\n", None, " a ", "00123", "b"], dtype="str")})
    with pytest.warns(SfmcWarning, match="1 contact key in 'SubscriberKey' has white space at the start or end"):
        prepared = prepare(df)
    assert prepared.keys == [None, None, None, None, " a ", "00123", "b"]
    assert prepared.sendable_positions == [4, 5, 6]
    assert set(prepared.skipped) == {0, 1, 2, 3}
    assert prepared.skipped[0] == prepared.skipped[1] == "blank contact key (empty or only whitespace)"
    assert prepared.skipped[3] == "missing contact key"
    assert members_of(prepared) == [{"contactKey": " a "}, {"contactKey": "00123"}, {"contactKey": "b"}]


def test_object_key_column_with_nan_and_mixed_values():
    df = pd.DataFrame({"k": pd.Series(["00123", np.nan, 42, np.int64(7), b"x", True, 3.0, ""], dtype=object)})
    with pytest.warns(UserWarning, match="floats"):
        prepared = prepare(df, "k")
    assert prepared.keys == ["00123", None, "42", "7", None, None, "3", None]
    assert prepared.skipped[1] == "missing contact key"
    assert "bytes" in prepared.skipped[4] and "bool" in prepared.skipped[5]
    assert "blank" in prepared.skipped[7]


def test_integer_keys_become_text():
    df = pd.DataFrame({"id": np.array([1234, -5, 2**63 - 1])})
    prepared = prepare(df, "id")
    assert prepared.keys == ["1234", "-5", str(2**63 - 1)] and prepared.warnings == []
    assert members_of(prepared)[0] == {"contactKey": "1234"}
    nullable = prepare(pd.DataFrame({"id": pd.array([1, None], dtype="Int64")}), "id")
    assert nullable.keys == ["1", None] and nullable.skipped == {1: "missing contact key"}


def test_integral_float_keys_convert_with_a_warning():
    df = pd.DataFrame({"id": [1234.0, np.nan, 5.0]})  # what read_csv makes of ids with a gap
    with pytest.warns(UserWarning, match="dtype=str") as caught:
        prepared = prepare(df, "id")
    assert prepared.keys == ["1234", None, "5"]
    assert prepared.skipped == {1: "missing contact key"}
    assert len(prepared.warnings) == 1 and prepared.warnings[0] == str(caught[0].message)
    assert "1234.0 -> '1234'" in prepared.warnings[0]
    assert [m["contactKey"] for m in members_of(prepared)] == ["1234", "5"]


def test_integral_float_keys_can_be_refused():
    df = pd.DataFrame({"id": [1234.0, np.nan]})
    with pytest.raises(ValidationError, match=r"dtype=\{'id': str\}"):
        prepare(df, "id", float_keys="refuse")


@pytest.mark.parametrize("values", [[1.5, 2.0], [1.0, np.inf]])
def test_non_integral_float_keys_always_raise(values):
    df = pd.DataFrame({"id": values})
    for option in ("convert", "refuse"):
        with pytest.raises(ValidationError, match="not whole"):
            prepare(df, "id", float_keys=option)


@pytest.mark.parametrize("column", [[True, False], pd.to_datetime(["2024-01-01", "2024-01-02"])])
def test_non_text_key_columns_raise(column):
    with pytest.raises(ValidationError, match="text"):
        prepare(pd.DataFrame({"k": column}), "k")


def test_duplicate_keys_are_sent_but_warned_about():
    df = pd.DataFrame({"SubscriberKey": ["a", "b", "a", "a", "c", "b"]})
    with pytest.warns(UserWarning, match="3 rows repeat") as caught:
        prepared = prepare(df)
    assert prepared.sendable_positions == list(range(6)) and prepared.skipped == {}
    message = prepared.warnings[0]
    assert message == str(caught[0].message)
    assert "'a' x3" in message and "'b' x2" in message and "duplicates='drop'" in message


def test_duplicates_drop_keeps_the_first_occurrence():
    df = pd.DataFrame({"SubscriberKey": ["a", "b", "a", "a", " ", "b"]}, index=["r1", "r2", "r3", "r4", "r5", "r6"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepared = prepare(df, duplicates="drop")
    assert prepared.sendable_positions == [0, 1]
    assert prepared.skipped == {2: "duplicate of row r1", 3: "duplicate of row r1",
                                4: "blank contact key (empty or only whitespace)", 5: "duplicate of row r2"}
    assert prepared.warnings and "3 rows" in prepared.warnings[0]


def test_duplicates_among_refused_rows_do_not_count():
    df = pd.DataFrame({"SubscriberKey": ["a", "a"], "f": [math.inf, 1.0]})
    prepared = prepare(df, data=["f"], duplicates="drop")
    assert prepared.sendable_positions == [1] and prepared.warnings == []


# ---------------------------------------------------------------------------------------------- columns


def test_missing_columns_raise_listing_the_columns():
    from sfmc_nb.engine import resolve_columns

    df = pd.DataFrame({"SubscriberKey": ["a"], "Email": ["x"], "FirstName": ["y"]})
    with pytest.raises(ValidationError) as err:
        resolve_columns(df, "subscriberkey")
    text = str(err.value)
    assert "contact key column 'subscriberkey' not found" in text and "did you mean 'SubscriberKey'" in text
    assert "'SubscriberKey', 'Email', 'FirstName'" in text
    with pytest.raises(ValidationError, match=r"column 'Emial' not found \(did you mean 'Email'\?\).*'FirstName'"):
        resolve_columns(df, data=["Email", "Emial"])
    with pytest.raises(ValidationError, match="'Zzz' not found.*columns are"):
        resolve_columns(df, data="Zzz")
    with pytest.raises(ValidationError, match="'Zzz' not found"):   # prepare checks what it is given
        prepare(df, data=["Zzz"])
    with pytest.raises(ValidationError, match="list of column names"):
        prepare(df, data="all")


def test_data_all_none_and_single_name():
    from sfmc_nb.engine import resolve_columns

    df = pd.DataFrame({"A": [1], "SubscriberKey": ["k"], "B": ["x"]})
    assert resolve_columns(df, data="all").data == ["A", "B"]
    assert members_of(prepare(df, data=["A", "B"])) == [{"contactKey": "k", "data": {"A": 1, "B": "x"}}]
    assert members_of(prepare(df)) == [{"contactKey": "k"}]
    assert resolve_columns(df, data="B").data == ["B"]
    assert members_of(prepare(df, data=["B"])) == [{"contactKey": "k", "data": {"B": "x"}}]
    assert prepare(df, data=["B", "A", "B"]).columns == ["B", "A"]


def test_non_string_column_labels_are_sent_as_text():
    df = pd.DataFrame({"SubscriberKey": ["k"], 0: [1], 1.5: ["x"]})
    assert members_of(prepare(df, data=others(df))) == [{"contactKey": "k", "data": {"0": 1, "1.5": "x"}}]


def test_repeated_column_label_raises():
    df = pd.DataFrame([["k", 1, 2]], columns=["SubscriberKey", "A", "A"])
    with pytest.raises(ValidationError, match="more than once"):
        prepare(df, data=["A"])


def test_max_lengths_refuse_long_text():
    df = frame(FirstName=pd.array(["Ann", "Bartholomew", None, "Bo"], dtype="str"),
               o=pd.Series(["x" * 5, 12345678, "y" * 6, None], dtype=object))
    prepared = prepare(df, data=["FirstName", "o"], max_lengths={"FirstName": 3, "o": 5, "Unsent": 1})
    assert prepared.sendable_positions == [0, 3]
    assert prepared.skipped == {1: "column 'FirstName': text of 11 characters exceeds the limit of 3",
                                2: "column 'o': text of 6 characters exceeds the limit of 5"}


@pytest.mark.parametrize("bad", [{"A": -1}, {"A": 1.5}, {"A": True}, ["A"]])
def test_bad_max_lengths_raise(bad):
    with pytest.raises(ValidationError, match="max_lengths"):
        prepare(frame(A=["x"]), data=["A"], max_lengths=bad)


@pytest.mark.parametrize("option, value, allowed", [
    ("na", "drop", "'null', 'omit'"), ("duplicates", "first", "'keep', 'drop'"),
    ("float_keys", None, "'convert', 'refuse'"),
])
def test_bad_options_name_the_allowed_values(option, value, allowed):
    with pytest.raises(ValidationError, match=f"{option} must be one of {allowed}"):
        prepare(frame(A=["x"]), **{option: value})


def test_not_a_dataframe_raises():
    with pytest.raises(ValidationError, match="DataFrame"):
        prepare([{"SubscriberKey": "a"}])  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------- batches


def test_batches_split_in_input_order_with_index_labels_kept():
    index = pd.Index([f"row{i}" for i in range(250)][::-1], name="rid")
    df = pd.DataFrame({"SubscriberKey": [f"c{i}" for i in range(250)], "n": range(250)}, index=index)
    prepared = prepare(df, data=["n"])
    assert prepared.index.equals(df.index) and prepared.index.name == "rid" and prepared.n_rows == 250
    batches = list(prepared.batches())
    assert [len(b.members) for b in batches] == [100, 100, 50] and prepared.n_batches() == 3
    assert [b.number for b in batches] == [0, 1, 2]
    assert [p for b in batches for p in b.positions] == list(range(250))
    assert batches[2].members[-1] == {"contactKey": "c249", "data": {"n": 249}}
    assert all(isinstance(b, Batch) and len(b.positions) == len(b.members) for b in batches)
    with pytest.raises(AttributeError):
        batches[0].number = 5  # frozen


def test_batch_sizes_and_limits():
    prepared = prepare(pd.DataFrame({"SubscriberKey": [f"c{i}" for i in range(20)]}))
    assert [len(b.members) for b in prepared.batches(7)] == [7, 7, 6] and prepared.n_batches(7) == 3
    assert [len(b.members) for b in prepared.batches(1)] == [1] * 20
    assert MAX_BATCH_SIZE == 100
    for bad in (0, 101, -1, 1.5, True, "10"):
        with pytest.raises(ValidationError, match="size"):
            prepared.batches(bad)
        with pytest.raises(ValidationError, match="size"):
            prepared.n_batches(bad)


def test_batches_are_lazy_and_check_arguments_eagerly():
    prepared = prepare(pd.DataFrame({"SubscriberKey": [f"c{i}" for i in range(30_000)]}))
    it = prepared.batches(100)
    assert inspect.isgenerator(it)
    assert next(it).positions == list(range(100))
    with pytest.raises(ValidationError):
        prepared.batches(500)  # raises at the call, not at next()


def test_positions_restrict_the_batches():
    df = pd.DataFrame({"SubscriberKey": ["a", "", "c", "d", "e"]}, index=[10, 20, 30, 40, 50])
    prepared = prepare(df)
    batches = list(prepared.batches(2, positions=[4, 1, 0, 4, 3]))
    assert [b.positions for b in batches] == [[0, 3], [4]]  # sorted, deduplicated, refused row 1 left out
    assert [b.number for b in batches] == [0, 1]
    assert [m["contactKey"] for b in batches for m in b.members] == ["a", "d", "e"]
    assert list(prepared.batches(positions=[])) == []
    assert list(prepared.batches(positions=np.array([2]))) == [Batch(0, [2], [{"contactKey": "c"}])]
    with pytest.raises(ValidationError, match="out of range"):
        prepared.batches(positions=[5])
    with pytest.raises(ValidationError, match="integers"):
        prepared.batches(positions=["a"])


def test_member_for_one_position():
    df = pd.DataFrame({"SubscriberKey": ["a", None], "x": [1.5, 2.0]}, index=["p", "q"])
    prepared = prepare(df, data=["x"])
    assert prepared.member(0) == {"contactKey": "a", "data": {"x": 1.5}}
    with pytest.raises(ValidationError, match="'q'.*missing contact key"):
        prepared.member(1)
    with pytest.raises(IndexError):
        prepared.member(2)


def test_empty_frame():
    prepared = prepare(pd.DataFrame({"SubscriberKey": pd.Series([], dtype="str"), "d": pd.Series([], dtype="M8[ns]")}),
                       data=["d"])
    assert prepared.n_rows == 0 and prepared.keys == [] and list(prepared.batches()) == []
    assert prepared.n_batches() == 0


def test_repr_is_short():
    assert repr(prepare(pd.DataFrame({"SubscriberKey": ["a", ""]}))) == (
        "<PreparedRows 2 rows: 1 sendable, 1 skipped, 0 data columns>")


def test_validation_error_is_an_sfmc_error():
    assert issubclass(ValidationError, SfmcError)


def test_dumps_strict_is_strict_compact_utf8():
    assert dumps_strict({"a": "é", "b": [1, None]}) == '{"a":"é","b":[1,null]}'.encode()
    with pytest.raises(ValueError):
        dumps_strict({"a": math.nan})


# ---------------------------------------------------------------------------------------------- accessor


def test_accessor_yields_member_lists_and_keeps_no_state():
    df = pd.DataFrame({"Key": [f"c{i}" for i in range(5)], "Email": [f"{i}@x" for i in range(5)]})
    got = list(df.sfmc.batches("Key", data=["Email"], size=2))
    assert [len(b) for b in got] == [2, 2, 1]
    assert got[0][0] == {"contactKey": "c0", "data": {"Email": "0@x"}}
    acc = df.sfmc
    list(acc.batches("Key", na="omit"))
    assert vars(acc) == {"_df": df} if hasattr(acc, "__dict__") else True
    assert acc._df is df
    with pytest.raises(ValidationError, match="size"):
        df.sfmc.batches("Key", size=0)
    with pytest.raises(ValidationError, match="not found"):
        df.sfmc.batches("Nope")


def test_accessor_class_is_documented():
    assert "stateless" in type(pd.DataFrame().sfmc).__doc__.lower() or "nothing may be stored" in type(
        pd.DataFrame().sfmc).__doc__


# ---------------------------------------------------------------------------------------------- properties

TIMEZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
NS_RANGE = (-(2**62), 2**62)  # well inside datetime64[ns]


def _reference(value):
    """What one value should become, computed the slow obvious way (None: missing)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, decimal.Decimal):
        return None if value.is_nan() else format(value, "f")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


OBJECT_VALUES = st.one_of(
    st.none(), st.text(max_size=4), st.integers(-(2**70), 2**70), st.floats(), st.booleans(),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2), st.lists(st.integers(), max_size=2),
    st.binary(max_size=3), st.decimals(allow_nan=False), st.just(decimal.Decimal("NaN")), st.dates(),
    st.datetimes(), st.sets(st.integers(), max_size=1), st.complex_numbers(max_magnitude=2),
    st.just(pd.NA), st.just(pd.NaT), st.just("\ud800"),
)


@st.composite
def frames(draw):
    n = draw(st.integers(0, 25))

    def column(elements):
        return draw(st.lists(elements, min_size=n, max_size=n))

    key_kind = draw(st.sampled_from(["str", "int", "object", "float"]))
    if key_kind == "str":
        key = pd.array(column(st.one_of(st.none(), st.sampled_from(["", " ", "a", "b", "00123"]),
                                        st.text(max_size=3))), dtype="str")
    elif key_kind == "int":
        key = np.array(column(st.integers(-(2**63), 2**63 - 1)), dtype=np.int64)
    elif key_kind == "float":
        key = np.array(column(st.one_of(st.integers(-(2**40), 2**40).map(float), st.just(math.nan))))
    else:
        key = pd.Series(column(st.one_of(st.none(), st.text(max_size=2), st.integers(), st.floats(),
                                         st.booleans(), st.binary(max_size=2))), dtype=object)
    cols = {"key": key}
    kinds = draw(st.lists(st.sampled_from(["s", "i", "f", "b", "d", "tz", "o", "n"]), unique=True))
    for kind in kinds:
        if kind == "s":
            cols[kind] = pd.array(column(st.one_of(st.none(), st.text(max_size=6))), dtype="str")
        elif kind == "i":
            cols[kind] = np.array(column(st.integers(-(2**63), 2**63 - 1)), dtype=np.int64)
        elif kind == "f":
            cols[kind] = np.array(column(st.one_of(st.floats(), st.sampled_from([math.inf, -math.inf, math.nan]))),
                                  dtype=np.float64)
        elif kind == "b":
            cols[kind] = np.array(column(st.booleans()), dtype=bool)
        elif kind in ("d", "tz"):
            ints = np.array(column(st.one_of(st.none(), st.integers(*NS_RANGE)).map(
                lambda v: np.iinfo(np.int64).min if v is None else v)), dtype=np.int64)
            unit = draw(st.sampled_from(["s", "ms", "us", "ns"]))
            values = pd.Series(ints.view("datetime64[ns]")).dt.as_unit(unit) if unit == "ns" else pd.Series(
                (ints // 1000).view("datetime64[us]")).dt.as_unit(unit)
            if kind == "tz":
                values = values.dt.tz_localize("UTC").dt.tz_convert(draw(st.sampled_from(TIMEZONES)))
            cols[kind] = values.to_numpy() if kind == "d" else values.array
        elif kind == "o":
            cols[kind] = pd.Series(column(OBJECT_VALUES), dtype=object)
        else:
            cols[kind] = pd.array(column(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1))), dtype="Int64")
    index = draw(st.sampled_from([None, "labels"]))
    df = pd.DataFrame(cols)
    if index == "labels":
        df.index = [f"r{i}" for i in range(n)][::-1]
    return df


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=frames(), size=st.integers(1, 100), na=st.sampled_from(["null", "omit"]),
       duplicates=st.sampled_from(["keep", "drop"]))
def test_any_frame_gives_strict_json_batches_accounting_for_every_row(df, size, na, duplicates):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        prepared = prepare(df, "key", data=others(df, "key"), na=na, duplicates=duplicates)

    n = len(df)
    sent = prepared.sendable_positions
    assert prepared.n_rows == n and len(prepared.keys) == n
    assert set(sent).isdisjoint(prepared.skipped) and set(sent) | set(prepared.skipped) == set(range(n))
    assert all(isinstance(r, str) and r for r in prepared.skipped.values())

    batches = list(prepared.batches(size))
    assert len(batches) == prepared.n_batches(size)
    assert [b.number for b in batches] == list(range(len(batches)))
    assert [p for b in batches for p in b.positions] == sent  # every sendable row once, in input order
    for batch in batches:
        assert 1 <= len(batch.members) == len(batch.positions) <= size
        body = dumps_strict(batch.members)
        assert json.loads(body) == batch.members  # strict JSON that round-trips
        for pos, member in zip(batch.positions, batch.members, strict=True):
            key = member["contactKey"]
            assert type(key) is str and key.strip() and key == prepared.keys[pos]
            data = member.get("data", {})
            for col in df.columns.drop("key"):
                expected = _reference(df[col].iloc[pos])
                if na == "omit" and expected is None:
                    assert col not in data
                else:
                    assert data[col] == expected and type(data[col]) is type(expected)
    if duplicates == "drop":
        assert len({prepared.keys[p] for p in sent}) == len(sent)


@settings(max_examples=60, deadline=None)
@given(ints=st.lists(st.integers(*NS_RANGE), min_size=1, max_size=20), tz=st.sampled_from([None, *TIMEZONES]))
def test_vectorised_iso_text_matches_timestamp_isoformat(ints, tz):
    values = pd.Series(np.array(ints, dtype=np.int64).view("datetime64[ns]"))
    if tz:
        values = values.dt.tz_localize("UTC").dt.tz_convert(tz)
    df = pd.DataFrame({"SubscriberKey": [f"k{i}" for i in range(len(ints))], "d": values})
    got = [m["data"]["d"] for m in members_of(prepare(df, data=["d"]))]
    assert got == [ts.isoformat() for ts in values]


@pytest.mark.parametrize("keys", [["a", "   ", "b", "c"], ["a", "   ", None, "b"]])
def test_prepare_never_changes_the_callers_dataframe(keys):
    df = pd.DataFrame({"SubscriberKey": keys, "Email": ["x", "  ", None, "y"]})
    before = df.copy()
    prepared = prepare(df, "SubscriberKey", ["Email"])
    list(prepared.batches())
    pd.testing.assert_frame_equal(df, before)
    assert df.loc[1, "SubscriberKey"] == "   "


# ---------------------------------------------------------------------------------------------- keys and text


@pytest.mark.parametrize("dtype", ["string[pyarrow]", "large_string", "read_csv"])
def test_pyarrow_text_columns_are_text_for_keys_and_data(dtype):
    pa = pytest.importorskip("pyarrow")  # not a dependency: skipped where it is not installed
    if dtype == "read_csv":
        import io

        df = pd.read_csv(io.StringIO("SubscriberKey,City\n000123,Oslo\n,Lima\n"), dtype_backend="pyarrow",
                         dtype={"SubscriberKey": "string[pyarrow]"})
        df["SubscriberKey"] = df["SubscriberKey"].astype(pd.ArrowDtype(pa.string()))
    else:
        arrow = pd.ArrowDtype(pa.large_string()) if dtype == "large_string" else dtype
        df = pd.DataFrame({"SubscriberKey": pd.Series(["000123", None], dtype=arrow),
                           "City": pd.Series(["Oslo", "Lima"], dtype=arrow)})
    prepared = prepare(df, data=["City"])
    assert members_of(prepared) == [{"contactKey": "000123", "data": {"City": "Oslo"}}]
    assert prepared.skipped == {1: "missing contact key"}


def test_keys_over_254_characters_or_only_invisible_are_refused_per_row():
    keys = ["k" * 254, "k" * 255, "\u200b", "\u200b\u200d\ufeff", " \t", "\x00\x1f", "a\u200b", "", "ok"]
    prepared = prepare(pd.DataFrame({"SubscriberKey": keys}))
    assert prepared.sendable_positions == [0, 6, 8]
    assert prepared.skipped[1] == "contact key longer than 254 characters (Marketing Cloud's limit)"
    invisible = "contact key holds only invisible characters (zero-width, control or white space)"
    assert prepared.skipped[2] == prepared.skipped[3] == prepared.skipped[5] == invisible
    assert prepared.skipped[4] == prepared.skipped[7] == "blank contact key (empty or only whitespace)"
    mixed = prepare(pd.DataFrame({"SubscriberKey": pd.Series(["x" * 300, 12, "\u2060"], dtype=object)}))
    assert mixed.sendable_positions == [1] and set(mixed.skipped) == {0, 2}


def test_white_space_is_kept_on_both_sides_of_keys_and_values_with_a_note_for_keys():
    df = pd.DataFrame({"SubscriberKey": [" a", "b ", "c"], "City": [" Oslo ", "Lima ", " Pune"]})
    with pytest.warns(SfmcWarning, match="2 contact keys in 'SubscriberKey' have white space at the start or end"):
        prepared = prepare(df, data=["City"])
    assert members_of(prepared) == [{"contactKey": " a", "data": {"City": " Oslo "}},
                                    {"contactKey": "b ", "data": {"City": "Lima "}},
                                    {"contactKey": "c", "data": {"City": " Pune"}}]


def test_float32_values_are_sent_as_the_shortest_text_of_their_value():
    df = frame(f=np.array([0.1, 0.7, 1e-7, np.nan], dtype=np.float32),
               n=pd.array([0.1, None, 2.5, 3.3], dtype="Float32"),
               o=pd.Series([np.float32(0.1), np.float16(0.2), 0.30000000000000004, None], dtype=object),
               d=np.array([0.1, 0.2, 1 / 3, 2.0]))
    rows = data_of(prepare(df, data=["f", "n", "o", "d"]))
    assert [r["f"] for r in rows] == [0.1, 0.7, 1e-7, None]
    assert [r["n"] for r in rows] == [0.1, None, 2.5, 3.3]
    assert [r["o"] for r in rows] == [0.1, 0.2, 0.30000000000000004, None]
    assert [r["d"] for r in rows] == [0.1, 0.2, 1 / 3, 2.0]
    assert b"0.1," in dumps_strict(rows[0]) and b"0.100000001" not in dumps_strict(rows)
