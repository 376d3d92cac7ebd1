"""Which columns a run sends: the contact key and the ``data=`` columns, resolved in one place.

The Python API and the magic resolve ``data=`` the same way; they differ only in what "not given" means,
passed as ``default`` (``None``: the key only; ``"all"``: every other column).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import pandas as pd

from .._rules import default_contact_key
from ..errors import ValidationError

__all__ = ["resolve_columns"]


def resolve_columns(frame: pd.DataFrame, contact_key: Hashable | None, data: Any, *, default: str | None = None,
                    key_option: str = "contact_key=") -> tuple[Hashable, list[Hashable]]:
    """The contact-key column and the data columns of a run on ``frame``.

    ``contact_key`` None: the column named ``SubscriberKey`` or ``ContactKey`` (any case), else a
    :class:`ValidationError` telling to name it with ``key_option``. ``data``: ``"all"`` (every column but the
    key), one column name, or several; None means ``default``. Whether the columns exist is checked where
    they are read (:func:`sfmc_nb.batching.prepare`), against the entry schema by the pre-flight checks.
    """
    if contact_key is None:
        contact_key = default_contact_key(frame.columns)
        if contact_key is None:
            raise ValidationError(f"name the contact key column with {key_option}; columns are {list(frame.columns)}")
    if data is None:
        data = default
    if data is None:
        return contact_key, []
    if isinstance(data, str) and data == "all":
        return contact_key, [c for c in frame.columns if c != contact_key]
    if isinstance(data, str) or not isinstance(data, Iterable):
        return contact_key, [data]
    return contact_key, list(data)
