"""DataFrame rows to strict-JSON ``members`` payloads for batch entry (at most 100 per request).

Work is done per column with numpy/pandas, not per row: :func:`prepare` checks every column once
(keys, missing values, values JSON cannot carry, text limits) and records which rows are refused and
why; :meth:`PreparedRows.batches` then converts columns a slice at a time and builds member dicts
one batch at a time, so a million rows never exist as a million dicts at once.

Value rules (what the entry data extension receives):

- NaN, NaT, None and ``pd.NA`` are JSON ``null`` (``na="null"``) or the field is left out (``na="omit"``).
- numpy scalars become Python ``int``/``float``/``bool``; booleans stay booleans.
- datetimes become ISO 8601 text like ``Timestamp.isoformat()``: ``2024-05-01T09:30:00``, a fraction only
  when non-zero, the UTC offset kept for tz-aware values; ``datetime.date`` objects stay date-only.
- ``Decimal`` becomes plain-notation text (``format(d, "f")``) so no digits are lost to a binary float.
- infinities, complex numbers, timedeltas, bytes, nested containers (dict/list/tuple/set/array) and other
  objects refuse their row; so does text with lone surrogates (it cannot be encoded as UTF-8).
- ``max_lengths`` applies to text values (str columns and str elements of object columns).

Contact keys are text, kept exactly as given (no stripping); integers become their decimal text.

The modules, one concern each: ``_options`` (checks of the call), ``_keys`` (contact keys, duplicates),
``_columns`` (data values by dtype), ``_dates`` (fast ISO text), ``_text`` and ``_refusals`` (shared
helpers), ``_prepare`` (:func:`prepare`, :class:`PreparedRows`, :class:`Batch`). Request bodies are encoded
with :func:`sfmc_nb._rules.dumps_strict`.
"""

from .._rules import MAX_BATCH_SIZE
from ._keys import QUIET
from ._options import DUPLICATES_OPTIONS, FLOAT_KEYS_OPTIONS, NA_OPTIONS, check_option, check_size
from ._prepare import Batch, PreparedRows, prepare

__all__ = ["MAX_BATCH_SIZE", "Batch", "PreparedRows", "prepare", "check_option", "check_size", "NA_OPTIONS",
           "DUPLICATES_OPTIONS", "FLOAT_KEYS_OPTIONS", "QUIET"]
