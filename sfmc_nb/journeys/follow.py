"""Following a trace: read the history again until every contact has stopped moving, or a time limit.

A contact has stopped when its newest step is a wait it is waiting in, the end of a path, a refused entry or an
exit. A contact at an activity where only some branches end the path (an engagement split whose "opened" branch
leads nowhere) has stopped once two readings in a row leave it there: history never says which branch a step
took. Contacts without any history keep the follow going (their steps may not be in the history yet) until
the time limit.

The core cannot draw widgets, so a live view is registered from outside (``sfmc_nb`` registers the ipywidgets
map of :mod:`sfmc_nb.widgets`): :func:`set_live_view` takes a factory called with the first trace, which
returns ``None`` where nothing live can be shown (a script, a terminal) or an object whose ``update(trace,
following=..., elapsed=...)`` redraws it. A failing view never stops the follow.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from .._rules import plural
from ..errors import ValidationError

if TYPE_CHECKING:
    from .trace import JourneyTrace

__all__ = ["LiveView", "set_live_view", "follow_trace", "moving", "MAX_POLL"]

log = logging.getLogger("sfmc_nb.journeys")

MAX_POLL = 10.0          # seconds between two readings at most (the interval grows by half each time)
MAX_TIMEOUT = 3600.0     # a follow never lasts longer than an hour
STOPPED = frozenset({"waiting", "ended"})


class LiveView(Protocol):
    def update(self, trace: JourneyTrace, *, following: bool, elapsed: float) -> None: ...


LiveViewFactory = Callable[["JourneyTrace"], "LiveView | None"]
_live_view: LiveViewFactory | None = None


def set_live_view(factory: LiveViewFactory | None) -> None:
    """Register what shows a followed trace while it moves (``None`` removes it)."""
    global _live_view
    _live_view = factory


def moving(current: JourneyTrace, previous: JourneyTrace | None = None) -> list[str]:
    """Contacts that may still move: not waiting, not at an end (``may have ended`` ones only until a second
    reading finds them at the same step)."""
    states = current.states
    before = previous._last if previous is not None else {}
    out: list[str] = []
    for contact, state in zip(states.index, states, strict=True):
        if state in STOPPED:
            continue
        if state == "may have ended" and contact in before and before[contact] == current._last.get(contact):
            continue
        out.append(contact)
    return out


def _check(timeout: Any, poll: Any) -> tuple[float, float]:
    for name, value in (("timeout", timeout), ("poll", poll)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValidationError(f"{name} must be a number of seconds; got {value!r}")
    if not 0 <= timeout <= MAX_TIMEOUT:
        raise ValidationError(f"timeout must be between 0 and {MAX_TIMEOUT:g} seconds; got {timeout!r}")
    if poll <= 0:
        raise ValidationError(f"poll must be more than 0 seconds; got {poll!r}")
    return float(timeout), float(poll)


def _open_view(first: JourneyTrace) -> LiveView | None:
    if _live_view is None:
        return None
    try:
        return _live_view(first)
    except Exception as exc:       # no widgets here, or no display: follow without a view
        log.debug("no live journey map: %s", exc)
        return None


def _show(view: LiveView | None, tr: JourneyTrace, following: bool, elapsed: float) -> LiveView | None:
    if view is None:
        return None
    try:
        view.update(tr, following=following, elapsed=elapsed)
        return view
    except Exception as exc:       # a broken display must not end the follow
        log.debug("the live journey map failed: %s", exc)
        return None


def follow_trace(fetch: Callable[[], JourneyTrace], *, timeout: float = 60.0, poll: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> JourneyTrace:
    """Call ``fetch`` until no traced contact may still move, or ``timeout`` seconds; the last trace.

    The first reading is immediate; the next come ``poll`` seconds apart, the interval growing by half each
    time up to :data:`MAX_POLL`. When the time runs out (or Ctrl-C stops the follow), the last trace is
    returned and its notes say who was still moving.
    """
    timeout, poll = _check(timeout, poll)
    started = clock()
    deadline, delay = started + timeout, poll
    tr = fetch()
    view = _open_view(tr)
    previous: JourneyTrace | None = None
    interrupted = False
    while True:
        still = moving(tr, previous)
        if not still or clock() >= deadline:
            break
        view = _show(view, tr, True, clock() - started)
        try:
            sleep(max(0.0, min(delay, deadline - clock())))
            delay = min(delay * 1.5, MAX_POLL)
            previous, tr = tr, fetch()
        except KeyboardInterrupt:          # Ctrl-C (the kernel's stop button) ends the follow, not the trace
            interrupted = True
            break
    if still:
        why = "stopped (interrupted)" if interrupted else f"followed for {timeout:g} s"
        tr.notes.append(f"{why}: {plural(len(still), 'contact')} may still be moving "
                        f"({', '.join(still[:5])}{', ...' if len(still) > 5 else ''}); trace again to see more")
    _show(view, tr, False, clock() - started)
    return tr
