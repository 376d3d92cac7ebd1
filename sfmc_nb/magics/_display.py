"""What the magics return for display: the ``%sfmc_auth --status`` card and the ``%sfmc_journey`` card.

Both have a text repr (nbval, IPython), a Markdown repr (terminals, nbconvert) and an HTML repr (notebooks);
neither holds the client secret or a token.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .._html import frame_html, frame_markdown

__all__ = ["AuthStatus", "JourneyInfo"]


@dataclass
class AuthStatus:
    """What ``%sfmc_auth --status`` shows: never the secret or the token."""

    logged_in: bool
    host: str | None = None
    account_id: int | None = None
    scopes: list[str] = field(default_factory=list)
    minutes_left: float | None = None
    sandbox: bool = False

    @classmethod
    def of(cls, conn: Any) -> AuthStatus:
        if conn is None or getattr(conn, "closed", False):
            return cls(False)
        return cls(True, conn.host, conn.credentials.account_id, list(conn.scopes), conn.minutes_left,
                   bool(conn.is_sandbox))

    def rows(self) -> list[tuple[str, str]]:
        left = "no token yet" if self.minutes_left is None else f"{self.minutes_left:.1f}"
        return [("host", str(self.host)), ("MID", "default" if self.account_id is None else str(self.account_id)),
                ("scopes", " ".join(self.scopes) or "-"), ("minutes left on the token", left),
                ("sandbox", "yes" if self.sandbox else "no")]

    def __repr__(self) -> str:
        if not self.logged_in:
            return "sfmc_nb: not logged in (run %sfmc_auth)"
        return "sfmc_nb connection\n" + "\n".join(f"  {k}: {v}" for k, v in self.rows())

    def _repr_pretty_(self, p, cycle):
        p.text(repr(self))

    def _repr_markdown_(self) -> str:
        if not self.logged_in:
            return "**sfmc_nb**: not logged in (run `%sfmc_auth`)"
        table = pd.DataFrame(self.rows(), columns=["", "value"])
        return "**sfmc_nb connection**\n\n" + frame_markdown(table, index=False, max_colwidth=200)

    def _repr_html_(self) -> str:
        if not self.logged_in:
            return '<div class="sfmc-auth-status"><b>sfmc_nb</b>: not logged in (run <code>%sfmc_auth</code>)</div>'
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
                       f"{html.escape(v)}</td></tr>" for k, v in self.rows())
        return f'<div class="sfmc-auth-status"><b>sfmc_nb connection</b><table>{rows}</table></div>'


class JourneyInfo(dict):
    """One journey as ``%sfmc_journey`` shows it: a dict (``info["status"]``) with a text and HTML card.

    Keys: name, key, id, version, status, entryMode, eventKeys, currentPopulation, cumulativePopulation,
    entryFields (a DataFrame: eventKey, name, type, length, isPrimaryKey, isNullable), problems.
    """

    SUMMARY = ("name", "key", "id", "version", "status", "entryMode", "eventKeys", "currentPopulation",
               "cumulativePopulation")

    def _summary_rows(self) -> list[tuple[str, str]]:
        def fmt(v):
            return ", ".join(map(str, v)) or "-" if isinstance(v, list) else ("-" if v is None else str(v))
        return [(k, fmt(self.get(k))) for k in self.SUMMARY]

    def __repr__(self) -> str:
        lines = [f"Journey {self.get('name')!r}"] + [f"  {k}: {v}" for k, v in self._summary_rows()[1:]]
        fields = self.get("entryFields")
        if isinstance(fields, pd.DataFrame) and len(fields):
            lines.append("entry data extension columns:")
            lines.append(fields.to_string(index=False))
        lines.extend(f"note: {p}" for p in self.get("problems") or [])
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle):
        p.text(repr(self))

    def _repr_markdown_(self) -> str:
        summary = pd.DataFrame(self._summary_rows()[1:], columns=["", "value"])
        out = [f"**Journey {self.get('name')!r}**", frame_markdown(summary, index=False)]
        fields = self.get("entryFields")
        if isinstance(fields, pd.DataFrame) and len(fields):
            out += ["Entry data extension columns:", frame_markdown(fields, index=False)]
        out.extend(f"note: {p}" for p in self.get("problems") or [])
        return "\n\n".join(out)

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
                       f"{html.escape(v)}</td></tr>" for k, v in self._summary_rows())
        out = [f'<div class="sfmc-journey"><b>Journey {html.escape(str(self.get("name")))}</b><table>{rows}</table>']
        fields = self.get("entryFields")
        if isinstance(fields, pd.DataFrame) and len(fields):
            out.append("<p>Entry data extension columns:</p>")
            out.append(frame_html(fields, index=False))
        out.extend(f"<p>note: {html.escape(str(p))}</p>" for p in self.get("problems") or [])
        out.append("</div>")
        return "\n".join(out)
