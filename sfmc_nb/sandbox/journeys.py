"""Journeys that run: contacts move through the activities of the journey they entered.

Each processed entry starts a *run* (its id is the DefinitionInstanceId). A run goes through activities at
once until it reaches a wait (woken later, on the sandbox's clock) or the end of a path (the contact leaves
the journey). Every activity reached writes a journey history row. Random splits and simulated email
engagement are drawn from generators seeded with the sandbox seed, the journey, the activity, the contact
and the run's number, so the same contacts take the same paths whatever the timing.

Not thread-safe on its own: the tenant calls it under its lock.
"""

from __future__ import annotations

import collections
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import criteria
from .clock import Clock
from .demo import JourneyVersion
from .history import HistoryRow, history_type

MAX_STEPS = 100  # activities one run may pass through at once (a definition with a loop cannot hang)
ONE_MS = timedelta(milliseconds=1)


@dataclass(slots=True)
class Run:
    """One contact's way through one journey version, from one entry."""

    id: str
    contact_key: str
    journey: JourneyVersion
    data: dict
    event_id: str
    number: int                  # 1 for the contact's first run in this journey, 2 for the next...
    last: datetime               # time of its newest row; each row is at least 1 ms after the previous one
    rows: list[HistoryRow] = field(default_factory=list)
    sends: list[Send] = field(default_factory=list)
    at: str | None = None        # key of the activity it is at (or ended at)
    ended: str | None = None     # "end", "exit" or "failed"

    @property
    def slot(self) -> tuple[str, int]:
        return self.journey.key, self.journey.version


@dataclass(slots=True)
class Wake:
    """A wait that ends at its moment."""

    run: Run
    key: str
    row: HistoryRow


@dataclass(slots=True)
class Send:
    run: Run
    activity: dict
    time: datetime
    address: str
    opened: bool
    clicked: bool


class Journeys:
    """Runs, membership, populations, email sends and journey history rows."""

    def __init__(self, clock: Clock, seed: int, new_id: Callable[[], str],
                 schedule: Callable[[float, Wake], None]):
        self.clock, self.seed, self.new_id, self.schedule = clock, seed, new_id, schedule
        self.runs: list[Run] = []
        self.rows: list[HistoryRow] = []
        self.sends: list[Send] = []
        self._active: dict[str, dict[tuple[str, int], list[Run]]] = collections.defaultdict(dict)
        self._current: collections.Counter = collections.Counter()   # contacts in each (key, version)
        self._cumulative: collections.Counter = collections.Counter()  # runs each (key, version) started
        self._numbers: collections.Counter = collections.Counter()

    # ---- entry and exit ----------------------------------------------------------------------------

    def start(self, contact_key: str, journey: JourneyVersion, data: dict, event_id: str, moment: float,
              event_name: str) -> Run:
        """A processed entry: the trigger row, then the activities up to the first wait or the end."""
        self._numbers[(contact_key, journey.key)] += 1
        when = self.clock.wall(moment)
        run = Run(self.new_id(), contact_key, journey, dict(data), event_id,
                  self._numbers[(contact_key, journey.key)], when - ONE_MS)
        self.runs.append(run)
        members = self._active[contact_key].setdefault(run.slot, [])
        if not members:
            self._current[run.slot] += 1
        members.append(run)
        self._cumulative[run.slot] += 1
        self._row(run, moment, "Complete", "Contact entered the journey.", activity_id=journey.trigger_id,
                  name=event_name, kind="trigger")
        first = journey.activities[0]["key"] if journey.activities else None
        self._go(run, first, moment)
        return run

    def refuse(self, contact_key: str, journey: JourneyVersion | None, event_id: str, moment: float,
               event_key: str, event_name: str, message: str, status: str = "Failed") -> None:
        """An entry refused at processing: a trigger row saying why (``Failed``, or the status Marketing Cloud
        writes for the reason, e.g. ``ContactPreviouslyInSameInteraction``); no run starts."""
        when = self.clock.wall(moment)
        seq = len(self.rows)
        row = HistoryRow(seq, when, contact_key, status, message, event_id=event_id, activity_type="trigger",
                         activity_name=event_name, entry_source=event_key, ended=when, final_status=status,
                         final_message=message)
        if journey is not None:
            row.definition_id, row.definition_key = journey.id, journey.key
            row.shared_definition_id = journey.definition_id
            row.definition_name, row.activity_id = journey.name, journey.trigger_id
        self.rows.append(row)

    def exit(self, run_ids: set[str], contact_key: str, journey: JourneyVersion, moment: float) -> None:
        """The contact exit API: the runs named (still in the journey) leave it."""
        for run in [r for r in self._active.get(contact_key, {}).get((journey.key, journey.version), [])
                    if r.id in run_ids]:
            waiting = run.rows[-1] if run.rows and run.rows[-1].ended is None else None
            when = self._stamp(run, moment)
            if waiting is not None:
                waiting.finish(when, "Exited", "Left the wait: the contact exit API took the contact out.")
            self._row(run, moment, "Complete", "Contact exited the journey through the contact exit API.",
                      name="Contact exit", kind="contactexit")
            self._leave(run, "exit")

    def wake(self, wake: Wake, moment: float) -> None:
        """A wait ended: complete its row and go on."""
        run = wake.run
        if run.ended or run.at != wake.key:
            return
        activity = run.journey.activity(wake.key) or {}
        chosen = (activity.get("outcomes") or [{}])[0]
        self._finish(run, wake.row, self._stamp(run, moment), "Complete",
                     wake.row.message.replace("Waiting", "Waited", 1), chosen)
        self._go(run, chosen.get("next"), moment)

    # ---- moving through activities ------------------------------------------------------------------

    def _go(self, run: Run, key: str | None, moment: float) -> None:
        for _ in range(MAX_STEPS):
            if key is None:
                self._leave(run, "end")
                return
            activity = run.journey.activity(key)
            if activity is None:
                self._row(run, moment, "Failed", f"The definition names no activity '{key}'.", kind="unknown")
                self._leave(run, "failed")
                return
            run.at = key
            if activity["type"].upper() == "WAIT":
                self._wait(run, activity, moment)
                return
            key = self._instant(run, activity, moment)
            if run.ended:
                return
        self._row(run, moment, "Failed", f"More than {MAX_STEPS} activities in a row: the path loops.")
        self._leave(run, "failed")

    def _wait(self, run: Run, activity: dict, moment: float) -> None:
        config = activity.get("configurationArguments") or {}
        duration, unit = config.get("waitDuration", 1), str(config.get("waitUnit", "DAYS")).upper()
        row = self._row(run, moment, "Waiting", f"Waiting {duration} {unit}.", activity, open_ended=True)
        self.schedule(moment + self.clock.wait_seconds(duration, unit), Wake(run, activity["key"], row))

    def _instant(self, run: Run, activity: dict, moment: float) -> str | None:
        """Carry out an activity that takes no time; the key of the next one (None: end of the path)."""
        kind = activity["type"].upper()
        outcomes = activity.get("outcomes") or [{}]
        try:
            if kind == "EMAILV2":
                (status, message), chosen = self._email(run, activity, moment), outcomes[0]
            elif kind == "MULTICRITERIADECISION":
                status, message, chosen = self._decide(run, activity, outcomes)
            elif kind == "RANDOMSPLIT":
                status, message, chosen = self._split(run, activity, outcomes)
            elif kind == "ENGAGEMENTDECISION":
                status, message, chosen = self._engagement(run, activity, outcomes)
            else:
                status, message, chosen = "Complete", f"{kind}: passed through (not simulated).", outcomes[0]
        except criteria.CriteriaError as exc:
            self._row(run, moment, "Failed", f"Decision criteria could not be evaluated: {exc}.", activity)
            self._leave(run, "failed")
            return None
        row = self._row(run, moment, status, message, activity, open_ended=True)
        self._finish(run, row, row.time, status, message, chosen)
        return chosen.get("next")

    def _email(self, run: Run, activity: dict, moment: float) -> tuple[str, str]:
        subject = ((activity.get("configurationArguments") or {}).get("triggeredSend") or {}).get(
            "emailSubject", activity["name"])
        address = next((str(v) for k, v in run.data.items()
                        if k.lower() in ("email", "emailaddress") and str(v or "").strip()), "")
        if not address:
            return "Failed", "Not sent: the entry data holds no email address."
        rate = float(self.clock.engagement_rate)
        opened = self._draw(run, activity, "opened") < rate
        clicked = opened and self._draw(run, activity, "clicked") < rate
        send = Send(run, activity, self.clock.wall(moment), address, opened, clicked)
        self.sends.append(send)
        run.sends.append(send)
        return "Complete", f"Email '{subject}' sent to {address}."

    def _decide(self, run: Run, activity: dict, outcomes: list[dict]) -> tuple[str, str, dict]:
        rules = (activity.get("configurationArguments") or {}).get("criteria") or {}
        remainder = None
        for item in outcomes:
            xml = rules.get(item.get("key"))
            if not xml:
                remainder = remainder or item
            elif criteria.matches(xml, run.data, run.journey.event_key):
                return "MetCriteria", f"Met the criteria of path '{_label(item)}'.", item
        if remainder is None:
            return "Complete", "Met no criteria and the decision has no remainder path: the contact leaves.", {}
        return "Complete", f"Met no criteria: remainder path '{_label(remainder)}'.", remainder

    def _split(self, run: Run, activity: dict, outcomes: list[dict]) -> tuple[str, str, dict]:
        shares = [float((item.get("arguments") or {}).get("percentage", 0) or 0) for item in outcomes]
        point, total = self._draw(run, activity, "split") * (sum(shares) or 1), 0.0
        chosen = outcomes[-1]
        for item, share in zip(outcomes, shares, strict=True):
            total += share
            if point < total:
                chosen = item
                break
        share_text = f"{(chosen.get('arguments') or {}).get('percentage', '?')}%"
        return "Complete", f"Random split: path '{_label(chosen)}' ({share_text}).", chosen

    def _engagement(self, run: Run, activity: dict, outcomes: list[dict]) -> tuple[str, str, dict]:
        config = activity.get("configurationArguments") or {}
        email_key, clicks = config.get("refActivityCustomerKey"), str(config.get("statsTypeId")) == "3"
        sends = [s for s in run.sends if s.activity["key"] == email_key]
        engaged = any(s.clicked if clicks else s.opened for s in sends)
        chosen = outcomes[0] if engaged or len(outcomes) < 2 else outcomes[1]
        what = "clicked" if clicks else "opened"
        if not sends:
            return "Complete", f"Email '{email_key}' was not sent to this contact: not {what}.", chosen
        return ("MetCriteria" if engaged else "Complete"), f"Email {'' if engaged else 'not '}{what}.", chosen

    def _draw(self, run: Run, activity: dict, purpose: str) -> float:
        """A number in [0, 1) fixed by the seed, journey, activity, contact and run number (not by timing)."""
        text = f"sfmc-sandbox-{purpose}-{self.seed}-{run.journey.key}-{activity['key']}-{run.contact_key}-{run.number}"
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") / 2**64

    # ---- rows and leaving ---------------------------------------------------------------------------

    def _stamp(self, run: Run, moment: float) -> datetime:
        run.last = max(self.clock.wall(moment), run.last + ONE_MS)
        return run.last

    def _row(self, run: Run, moment: float, status: str, message: str, activity: dict | None = None, *,
             activity_id: str = "", name: str = "", kind: str = "", open_ended: bool = False) -> HistoryRow:
        when = self._stamp(run, moment)
        journey = run.journey
        row = HistoryRow(
            len(self.rows), when, run.contact_key, status, message, definition_id=journey.id,
            definition_key=journey.key, definition_name=journey.name, shared_definition_id=journey.definition_id,
            activity_id=activity["id"] if activity else activity_id, activity_key=activity["key"] if activity else "",
            activity_name=activity["name"] if activity else name,
            activity_type=history_type(activity["type"]) if activity else kind, event_id=run.event_id,
            instance_id=run.id, entry_source=journey.event_key)
        if not open_ended:
            row.finish(when, status, message)
        self.rows.append(row)
        run.rows.append(row)
        return row

    def _finish(self, run: Run, row: HistoryRow, when: datetime, status: str, message: str, chosen: dict) -> None:
        target = run.journey.activity(chosen.get("next"))
        row.finish(when, status, message, target["id"] if target else "", _label(chosen) if chosen else "")

    def _leave(self, run: Run, how: str) -> None:
        run.ended = how
        slots = self._active.get(run.contact_key, {})
        members = slots.get(run.slot, [])
        if run in members:
            members.remove(run)
            if not members:
                del slots[run.slot]
                self._current[run.slot] -= 1
            if not slots:
                self._active.pop(run.contact_key, None)

    # ---- reads ---------------------------------------------------------------------------------------

    def active_ids(self, contact_key: str, key: str, version: int) -> list[str]:
        """Ids of the contact's runs still in the journey version, oldest first."""
        return [run.id for run in self._active.get(contact_key, {}).get((key, version), [])]

    def memberships(self, contact_key: str) -> list[tuple[str, int]]:
        return sorted(self._active.get(contact_key, {}))

    def population(self, journey: JourneyVersion) -> tuple[int, int]:
        slot = (journey.key, journey.version)
        return self._current[slot], self._cumulative[slot]

    # ---- the sandbox's own record (for tests and notebooks, not an API) ------------------------------

    def paths(self) -> list[dict]:
        """One dict per run, oldest first: the activities it went through (trigger left out) and where it is."""
        out = []
        for run in self.runs:
            visits = [row for row in run.rows if row.activity_key]
            last = visits[-1] if visits else None
            out.append({
                "contactKey": run.contact_key, "journeyKey": run.journey.key, "version": run.journey.version,
                "definitionInstanceId": run.id, "eventInstanceId": run.event_id,
                "keys": [row.activity_key for row in visits], "path": [row.activity_name for row in visits],
                "atKey": last.activity_key if last else None, "at": last.activity_name if last else None,
                "status": _now_status(last) if last else None, "inJourney": run.ended is None,
                "ended": run.ended})
        return out

    def log(self) -> list[dict]:
        """Every history row as it stands now (no lag), oldest first."""
        return [{"time": row.time, "contactKey": row.contact_key, "journeyKey": row.definition_key,
                 "definitionId": row.definition_id, "activityKey": row.activity_key,
                 "activityName": row.activity_name, "activityType": row.activity_type, "status": _now_status(row),
                 "message": row.final_message if row.ended is not None else row.message,
                 "definitionInstanceId": row.instance_id, "eventInstanceId": row.event_id}
                for row in sorted(self.rows, key=lambda r: (r.time, r.seq))]

    def sent(self) -> list[dict]:
        return [{"time": s.time, "contactKey": s.run.contact_key, "journeyKey": s.run.journey.key,
                 "activityKey": s.activity["key"], "activityName": s.activity["name"], "email": s.address,
                 "opened": s.opened, "clicked": s.clicked, "definitionInstanceId": s.run.id} for s in self.sends]


def _now_status(row: HistoryRow) -> str:
    return row.final_status if row.ended is not None else row.status


def _label(outcome: dict) -> str:
    return str((outcome.get("metaData") or {}).get("label") or outcome.get("key") or "")
