"""The submission engine behind ``df.sfmc.enter_journey`` and ``%%journey_enter``.

It sends batches of at most 100 members to ``POST /interaction/v1/async/events`` with a bounded number in
flight, and keeps three promises: nothing sent twice by accident (a batch in doubt is reconciled with the
status endpoint, and a member is resent only once its request can no longer land), nothing lost (every input
row ends with a status, and a run that dies resumes from its journal), and polite under throttling (a 429
pauses every worker and lowers the number in flight). It never imports IPython or ipywidgets.

Where things are:

- ``api``: :func:`enter_journey`, the composition of the parts below
- ``run``: :class:`Run`, one run of prepared rows (journal, retry, sending), for a DataFrame and each chunk of a
  stream alike (``stream``)
- ``columns``: the contact-key and ``data=`` columns of a run
- ``preflight``: event key, journeys and entry schema checked before anything is sent
- ``runner``: the run loop (workers, one key per batch in flight, Ctrl-C, applying outcomes)
- ``send``: one batch's never-send-twice state machine, one handler per outcome; the landing horizon
- ``reconcile``: what became of members in doubt, asked of the status endpoint (few requests, each counted)
- ``dates``: zone-less dates read as the tenant's system time, its zone learned per connection
- ``throttle``: the shared pause and AIMD limit on batches in flight
- ``journal``: the JSON-lines record a dead run resumes from
- ``reentry``: a run refused when an earlier run of the process entered its contacts (a cell run twice)
- ``retry``: :class:`RunRetry`, what ``EntryResult.retry()`` runs
- ``processing``: :class:`Processing`, what ``EntryResult.wait()`` and ``EntryResult.trace()`` run
- ``progress``: typed progress events and the text reporter
- ``context``, ``outcome``: the run's settings and shared state; what a worker reports for a batch
"""

from .api import enter_journey
from .columns import ALL, AUTO, Columns, resolve_columns
from .context import RunOptions
from .journal import Journal, JournalState, replay
from .preflight import preflight
from .processing import Processing
from .progress import ProgressEvent, ProgressKind, TextProgress
from .retry import RunRetry

__all__ = ["enter_journey", "ProgressEvent", "ProgressKind", "TextProgress", "preflight", "resolve_columns",
           "AUTO", "ALL", "Columns",
           "RunRetry", "Processing", "RunOptions", "Journal", "JournalState", "replay"]
