"""The ``df.sfmc`` DataFrame accessor; importing this module (or ``sfmc_nb``) registers it."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from typing import Any

import pandas as pd

from ._rules import MAX_BATCH_SIZE
from .batching import prepare
from .engine import enter_journey, resolve_columns
from .errors import warn_caller
from .results import EntryResult

__all__ = ["SfmcAccessor"]


@pd.api.extensions.register_dataframe_accessor("sfmc")
class SfmcAccessor:
    """Marketing Cloud journey entry for a DataFrame: ``df.sfmc.enter_journey(...)``, ``df.sfmc.batches(...)``.

    pandas 3 builds a new accessor object on every ``df.sfmc`` access, so nothing may be stored on it
    besides the DataFrame: every method computes from ``self._df`` and its arguments alone.
    """

    def __init__(self, pandas_obj: pd.DataFrame):
        self._df = pandas_obj

    def batches(self, contact_key: Hashable, data: Iterable[Hashable] | str | None = None,
                size: int = MAX_BATCH_SIZE, **options: Any) -> Iterator[list[dict[str, Any]]]:
        """Yield the ``members`` list of each batch-entry request, built lazily; nothing is sent.

        ``data``: ``"all"``, a list of columns, or None (the key only). No entry schema is read here, so
        ``"auto"`` means every column but the key (with a warning). ``options`` are those of
        :func:`sfmc_nb.batching.prepare` (``na``, ``duplicates``, ``float_keys``, ``max_lengths``). Bad
        columns, options or ``size`` raise ``ValidationError`` here, not at the first ``next()``; refused rows
        are left out (use ``prepare`` to see why).
        """
        columns = resolve_columns(self._df, contact_key, data)
        for note in columns.notes:
            warn_caller(note)
        batches = prepare(self._df, columns.key, columns.data, **options).batches(size)
        return (batch.members for batch in batches)

    def enter_journey(self, event_key: str, contact_key: str | None = None,
                      data: Iterable[str] | str | None = "auto", **options: Any) -> EntryResult:
        """Enter every row into the journey(s) of ``event_key``; see :func:`sfmc_nb.enter_journey`.

        ``data="auto"`` (default) sends the columns that are fields of the entry data extension.

        ``options``: ``connection``, ``concurrency``, ``dry_run``, ``validate``, ``journal``, ``progress``,
        ``batch_size``, ``na``, ``duplicates``, ``float_keys``, ``max_seconds``, ``again`` (enter contacts an
        earlier run of this session entered for the same event key; refused otherwise). Returns an
        :class:`~sfmc_nb.results.EntryResult` with one status per input row.
        """
        return enter_journey(self._df, event_key, contact_key, data, **options)
