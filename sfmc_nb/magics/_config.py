"""The one configurable every magic reads: ``%config SfmcMagics.<trait> = value``.

The auth, entry and exploration magics are separate classes, but a user configures them as one thing, so the
traits live here, on a single object appended to ``shell.configurables`` (``%config`` finds configurables by
class name, which is why this class keeps the name ``SfmcMagics``). The object also carries the little state
the magics share: the last entry result and the connections whose sandbox ``%sfmc_auth`` started.
"""

from __future__ import annotations

from typing import Any

from traitlets import Bool, Enum, Int, TraitError, Unicode
from traitlets import validate as _validate_trait
from traitlets.config.configurable import Configurable

from .._rules import DEFAULT_CONCURRENCY, MAX_CONCURRENCY, check_concurrency
from ..errors import ValidationError

__all__ = ["SfmcMagics"]


class SfmcMagics(Configurable):
    """Defaults of the sfmc_nb magics. Set them with ``%config SfmcMagics.<trait> = value``."""

    concurrency = Int(DEFAULT_CONCURRENCY, help=f"Batches in flight at once for %%journey_enter "
                      f"(1-{MAX_CONCURRENCY}).").tag(config=True)
    progress = Bool(True, help="Show a live progress bar while %%journey_enter runs.").tag(config=True)
    display = Enum(["widget", "html", "text"], default_value="widget",
                   help="How %%journey_enter shows its result: widget panel, HTML table or text.").tag(config=True)
    short_errors = Bool(True, help="Show library errors as one line; False shows the full traceback."
                        ).tag(config=True)
    validate = Bool(True, help="Check the journey and entry schema before sending (%%journey_enter)."
                    ).tag(config=True)
    journal_dir = Unicode("", help="Folder for %%journey_enter journals ('' = no journal unless --journal)."
                          ).tag(config=True)

    @_validate_trait("concurrency")
    def _check_concurrency(self, proposal: Any) -> int:
        # A TraitError (not any other error) makes traitlets roll the value back when %config refuses it.
        try:
            return check_concurrency(proposal["value"], "SfmcMagics.concurrency")
        except ValidationError as exc:
            raise TraitError(str(exc)) from None

    def __init__(self, shell: Any = None, **kwargs: Any):
        if shell is not None and hasattr(shell, "config"):
            kwargs.setdefault("parent", shell)  # reads c.SfmcMagics.* from the IPython profile, like Magics do
        super().__init__(**kwargs)
        self.last_result: Any = None
        """The EntryResult of the last ``%%journey_enter``."""
        self.own_sandboxes: list[Any] = []
        """Connections whose sandbox ``%sfmc_auth`` started (stopped when a new login replaces them)."""
