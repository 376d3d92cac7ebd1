"""A large journey definition made here, in Journey Builder's JSON shapes, for the map's geometric tests.

``big_journey(sections)`` strings sections one after another; each section holds an email, an Einstein send
time wait, an unnamed decision split with three branches (two short branches that join the next section, one
that ends), a random split, an engagement split whose "No" ends the path and Sales Cloud steps, with names in
upper case, with emoji, in CJK and very long ones, the kinds of text that spill over borders when measured
badly. Goals and exit criteria come with it. Eight sections make 104 activities.
"""

from __future__ import annotations

EVENT = "APIEvent-0f6c2a9e-big"
NAMES = ("WELCOME EMAIL – MEMBERSHIP RENEWAL REMINDER WWW", "🎉 Birthday offer 🎁 for our VIP members 🚀",
         "会员续订提醒邮件", "A very long email activity name that certainly cannot fit on one line of a box at all",
         "Short")


def _condition(field: str, operator: str, value: str) -> str:
    return (f'<FilterDefinition><ConditionSet Operator="AND" ConditionSetName="Grouping">'
            f'<Condition IsEphemeralAttribute="true" Key="Event.{EVENT}.{field}" Operator="{operator}">'
            f"<Value><![CDATA[{value}]]></Value></Condition></ConditionSet></FilterDefinition>")


def _activity(key: str, name: str, kind: str, outcomes: list[tuple[str | None, str]], config: dict | None = None,
              ) -> dict:
    return {"id": f"id-{key}", "key": key, "name": name, "type": kind,
            "outcomes": [{"key": f"{key}-o{i}", "next": nxt, "arguments": {}, "metaData": {"label": label}}
                         if nxt else {"key": f"{key}-o{i}", "arguments": {}, "metaData": {"label": label}}
                         for i, (nxt, label) in enumerate(outcomes)],
            "configurationArguments": config or {}, "metaData": {}}


def _section(n: int, nxt: str | None) -> list[dict]:
    k = f"S{n}-"
    name = NAMES[n % len(NAMES)]
    decision = _activity(k + "DECIDE", "", "MULTICRITERIADECISION",
                         [(k + "GOLD", "Gold members renewing this quarter"), (k + "SALES", "Silver"),
                          (None, "Remainder")],
                         {"criteria": {f"{k}DECIDE-o0": _condition("Tier", "Equal", "Gold"),
                                       f"{k}DECIDE-o1": _condition("Tier", "Equal", "Silver")}})
    split = _activity(k + "SPLIT", "Random split", "RANDOMSPLIT", [(k + "A", "Path 1"), (k + "B", "Path 2")])
    for i, share in enumerate((70, 30)):
        split["outcomes"][i]["arguments"] = {"percentage": share}
    return [
        _activity(k + "EMAIL", f"{name} {n}", "EMAILV2", [(k + "STO", "")],
                  {"triggeredSend": {"emailName": f"{name} {n}", "emailSubject": "Hello"}}),
        _activity(k + "STO", f"Einstein STO {n}", "STOWAIT", [(k + "DECIDE", "")]),
        decision,
        _activity(k + "GOLD", f"Gold offer email {n}", "EMAILV2", [(k + "SPLIT", "")]),
        split,
        _activity(k + "A", f"Offer A {n}", "EMAILV2", [(k + "OPENED", "")]),
        _activity(k + "B", f"OFFER B WITH A LONG UPPER CASE NAME {n}", "EMAILV2", [(k + "OPENED", "")]),
        _activity(k + "OPENED", f"Opened the offer {n}?", "ENGAGEMENTDECISION",
                  [(k + "WAIT", "Yes"), (None, "No")], {"statsTypeId": 2, "refActivityCustomerKey": k + "A"}),
        _activity(k + "SALES", f"Create Sales Cloud task {n}", "SALESCLOUDACTIVITY", [(k + "LEAD", "")]),
        _activity(k + "LEAD", f"Update lead status {n}", "SALESCLOUDACTIVITY", [(k + "WAIT", "")]),
        _activity(k + "WAIT", f"{n} minute", "WAIT", [(k + "UPDATE", "")], {"waitDuration": 1, "waitUnit": "MINUTES"}),
        _activity(k + "UPDATE", f"Update contact {n}", "UPDATECONTACTDATA", [(k + "CUSTOM", "")]),
        _activity(k + "CUSTOM", f"Custom REST {n}", "REST", [(nxt, "")]),
    ]


def big_journey(sections: int = 8) -> dict:
    """A journey of ``13 * sections`` activities with goals and exit criteria."""
    activities: list[dict] = []
    for n in range(1, sections + 1):
        activities += _section(n, f"S{n + 1}-EMAIL" if n < sections else None)
    return {"id": "big-journey-id", "key": "big-journey", "name": "Big renewal journey", "version": 7,
            "status": "Published", "entryMode": "OnceAndDone",
            "triggers": [{"key": "TRIGGER", "name": "Renewal entry", "type": "APIEvent",
                          "metaData": {"eventDefinitionKey": EVENT}}],
            "goals": [{"key": "goal-1", "name": "Renewed", "type": "Goal",
                       "configurationArguments": {"criteria": _condition("Renewed", "Equal", "true")}}],
            "exits": [{"key": "exit-1", "name": "", "type": "Exit",
                       "configurationArguments": {"criteria": _condition("Unsubscribed", "Equal", "true")}}],
            "activities": activities}


def wide_journey(branches: int = 8) -> dict:
    """A decision with ``branches`` branches, each an email and a wait, all joining one last email: a map as
    wide as a notebook is, or wider, so it must scale to fit."""
    activities = [_activity("FAN", "Which product line?", "MULTICRITERIADECISION",
                            [(f"MAIL{i}", f"Product line {i}") for i in range(branches)],
                            {"criteria": {f"FAN-o{i}": _condition("Line", "Equal", str(i))
                                          for i in range(branches - 1)}})]
    for i in range(branches):
        activities += [_activity(f"MAIL{i}", f"Product line {i} launch email", "EMAILV2", [(f"WAIT{i}", "")]),
                       _activity(f"WAIT{i}", f"Wait {i + 1} days", "WAIT", [("LAST", "")],
                                 {"waitDuration": i + 1, "waitUnit": "DAYS"})]
    activities.append(_activity("LAST", "Thank you for your interest", "EMAILV2", [(None, "")]))
    return {"key": "wide-journey", "name": "Product launch", "version": 1, "status": "Published",
            "triggers": [{"key": "TRIGGER", "name": "Launch entry", "type": "APIEvent",
                          "metaData": {"eventDefinitionKey": EVENT}}],
            "activities": activities}
