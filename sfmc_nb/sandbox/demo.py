"""The demo tenant: entry data extensions, API entry events and journeys the sandbox starts with.

Each journey shows one behaviour worth trying (multiple entries, single entry, Draft, Stopped, a newest
version that is Deleted, an event key shared by more journeys than the limit of 10), and each runs its
activities (``flows``): the Welcome Journey has a wait, a decision split on entry data, an engagement split
and a random split. Ids come from a seeded random generator so two sandboxes started with the same seed hold
the same tenant.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from . import flows
from .schema import Column, DataExtension

ACCOUNT_ID = 514000001
CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "sandbox-demo-secret-7Qm2xK9v"
SCOPES = ("journeys_read", "journeys_write", "journeys_execute", "data_extensions_read",
          "list_and_subscribers_read")
SHARED_JOURNEYS = 11  # one more than the 10 journeys an entry event may serve

BASE_COLUMNS = (
    Column("SubscriberKey", "Text", 254, is_primary_key=True, is_nullable=False),
    Column("Email", "EmailAddress", 254),
    Column("FirstName", "Text", 50),
    Column("LastName", "Text", 50),
    Column("City", "Text", 100),
    Column("Points", "Number"),
    Column("SignupDate", "Date"),
    Column("IsVip", "Boolean", default="false"),
)
EXTRA_COLUMNS = (Column("Mobile", "Phone", 50), Column("Score", "Decimal", 18, scale=2))


@dataclass(frozen=True)
class EventDefinition:
    """An API entry event and the data extension its entry data lands in."""

    id: str
    key: str
    name: str
    de: DataExtension


@dataclass
class JourneyVersion:
    """One version of a journey; ``definition_id`` is shared by all versions of the same key."""

    id: str
    definition_id: str
    key: str
    name: str
    description: str
    version: int
    status: str
    entry_mode: str
    event_key: str
    trigger_id: str
    created: str
    modified: str
    activities: list[dict] = field(default_factory=list)

    def activity(self, key: str | None) -> dict | None:
        """The activity with ``key`` (None for None or an unknown key)."""
        return next((a for a in self.activities if a["key"] == key), None) if key else None


@dataclass
class DemoTenant:
    """Everything the tenant starts with, plus the event keys the Sandbox publishes as attributes."""

    data_extensions: dict[str, DataExtension]
    events: dict[str, EventDefinition]
    journeys: list[JourneyVersion]
    roles: dict[str, dict[str, str]]


def build(seed: int = 0, extra_journeys: int = 0) -> DemoTenant:
    """Build the demo tenant; ``extra_journeys`` adds that many Stopped journeys (for paging)."""
    rng = random.Random(f"sfmc-sandbox-demo-{seed}")

    def new_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    tenant = DemoTenant({}, {}, [], {})
    clock = [datetime(2024, 1, 8, 9, 0, tzinfo=timezone.utc)]

    def stamp() -> str:
        clock[0] += timedelta(hours=7)
        return clock[0].strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def add_event(role: str | None, key: str, name: str, columns=BASE_COLUMNS, listed: bool = True) -> None:
        de = DataExtension(new_id(), f"{key}-DE", f"{name.removesuffix(' Event')} Entry DE", tuple(columns), listed)
        tenant.data_extensions[de.id] = de
        tenant.events[key] = EventDefinition(new_id(), key, name, de)
        if role:
            tenant.roles[role] = {"event_key": key, "data_extension_id": de.id}

    def add_journey(role: str | None, key: str, name: str, event_key: str, versions: list[str],
                    entry_mode: str = "MultipleEntries", description: str = "", flow: str = "newsletter") -> None:
        definition_id = new_id()
        for number, status in enumerate(versions, start=1):
            created = stamp()
            version_id = new_id()
            activities = flows.build(flow, event_key, f"sfmc-sandbox-activities-{seed}-{version_id}")
            tenant.journeys.append(JourneyVersion(
                version_id, definition_id, key, name, description, number, status, entry_mode,
                event_key, new_id(), created, created, activities))
        if role:
            tenant.roles.setdefault(role, {})["journey_key"] = key

    add_event("welcome", "APIEvent-welcome", "Welcome Event")
    add_journey("welcome", "welcome-journey", "Welcome Journey", "APIEvent-welcome", ["Published"],
                description="Greets new subscribers; contacts may enter any number of times.", flow="welcome")
    add_event("single_entry", "APIEvent-onboarding", "Onboarding Event", BASE_COLUMNS + EXTRA_COLUMNS)
    add_journey("single_entry", "onboarding-journey", "Onboarding Journey", "APIEvent-onboarding",
                ["Published"], "SingleEntryAcrossAllVersions", "Each contact may enter only once, ever.",
                flow="onboarding")
    add_event("draft", "APIEvent-spring-promo", "Spring Promo Event", listed=False)
    add_journey("draft", "spring-promo-journey", "Spring Promo Journey", "APIEvent-spring-promo", ["Draft"],
                description="Not published yet: entries error out.")
    add_event("stopped", "APIEvent-winback", "Win-back Event")
    add_journey("stopped", "winback-journey", "Win-back Journey", "APIEvent-winback", ["Stopped"],
                description="Stopped: entries error out.")
    add_event("versioned", "APIEvent-loyalty", "Loyalty Event")
    add_journey("versioned", "loyalty-journey", "Loyalty Journey", "APIEvent-loyalty", ["Published", "Deleted"],
                description="Version 2 was deleted: ask for versionNumber=1.", flow="loyalty")
    add_event("shared", "APIEvent-shared", "Shared Event")
    for n in range(1, SHARED_JOURNEYS + 1):
        add_journey(None, f"shared-journey-{n:02d}", f"Shared Journey {n:02d}", "APIEvent-shared", ["Published"],
                    description="One of 11 journeys on one entry event (the limit is 10).")
    for n in range(1, extra_journeys + 1):
        key = f"APIEvent-archive-{n:03d}"
        add_event(None, key, f"Archive Event {n:03d}")
        add_journey(None, f"archive-journey-{n:03d}", f"Archive Journey {n:03d}", key, ["Stopped"],
                    description="An old stopped journey, here so paging has something to page through.")
    return tenant
