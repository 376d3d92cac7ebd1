"""Write ``contacts.csv``: a realistic, deterministic contact file for the workshop notebooks.

    python notebooks/data/make_contacts.py        # rewrites notebooks/data/contacts.csv

About 3,000 rows whose columns match the sandbox's entry data extension (SubscriberKey, Email, FirstName,
LastName, City, Points, SignupDate, IsVip), with the mistakes real exports carry:

- contact keys that look like numbers (``000123``): read the file with ``dtype=str`` or the zeros are lost;
- a few rows with a blank key;
- a few rows exported twice (same key, same data);
- a few bad email addresses and one first name longer than the column's 50 characters;
- some blank Points and SignupDate values.

Only reserved example domains are used; every value comes from a seeded generator, so the file is the
same on every machine and Python version.
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

ROWS = 2_990            # distinct contacts before the mistakes are added
SEED = 20240108
HERE = Path(__file__).resolve().parent
COLUMNS = ["SubscriberKey", "Email", "FirstName", "LastName", "City", "Points", "SignupDate", "IsVip"]

FIRST = ["Ada", "Ben", "Carla", "Dev", "Elena", "Farah", "Gus", "Hana", "Ivan", "Jonas", "Kemi", "Liam", "Mara",
         "Nils", "Olga", "Priya", "Quinn", "Rosa", "Sami", "Tariq", "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoe"]
LAST = ["Andersen", "Brooks", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hughes", "Ivanova", "Jensen",
        "Kowalski", "Lopez", "Martin", "Nakamura", "Okafor", "Patel", "Quist", "Rossi", "Schmidt", "Tanaka",
        "Umar", "Varga", "Weber", "Xu", "Young", "Zimmer"]
CITIES = ["Amsterdam", "Berlin", "Chicago", "Dublin", "Edinburgh", "Frankfurt", "Glasgow", "Helsinki", "Lisbon",
          "London", "Madrid", "Milan", "Oslo", "Paris", "Prague", "Seattle", "Toronto", "Vienna", "Warsaw", "Zurich"]
DOMAINS = ["example.com", "example.org", "example.net"]


def contacts(seed: int = SEED) -> list[dict[str, str]]:
    rng = random.Random(seed)
    ids = rng.sample(range(1, 1_000_000), ROWS)
    rows = []
    for n in ids:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        signup = date(2019, 1, 1) + timedelta(days=rng.randrange(0, 5 * 365))
        rows.append({
            "SubscriberKey": f"{n:06d}",                       # numeric-looking, leading zeros matter
            "Email": f"{first}.{last}{rng.randrange(1, 100)}@{rng.choice(DOMAINS)}".lower(),
            "FirstName": first,
            "LastName": last,
            "City": rng.choice(CITIES),
            "Points": "" if rng.random() < 0.03 else str(rng.randrange(0, 25_000)),
            "SignupDate": "" if rng.random() < 0.02 else signup.isoformat(),
            "IsVip": "true" if rng.random() < 0.08 else "false",
        })
    # the mistakes, at fixed places so the notebooks can talk about them
    for pos in (41, 977, 1502, 2230, 2871):
        rows[pos]["SubscriberKey"] = ""                         # blank keys
    rows[314]["Email"] = "grace.hopper.example.com"             # no @
    rows[1618]["Email"] = "alan.turing@example"                 # no top-level domain
    rows[2718]["Email"] = "ada lovelace@example.org"            # a space
    rows[1234]["FirstName"] = "Maximilian-Alexander-Konstantin-Friedrich-Ferdinand"  # 51 characters
    rows[15]["SubscriberKey"] = "000123"                        # a key that only survives as text
    for pos in (7, 250, 1100, 1999, 2500, 2600, 2750, 2800, 2900, 2950):
        rows.append(dict(rows[pos]))                           # exported twice
    return rows


def main() -> Path:
    path = HERE / "contacts.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(contacts())
    return path


if __name__ == "__main__":
    out = main()
    print(f"wrote {out} ({sum(1 for _ in open(out, encoding='utf-8')) - 1} rows)")
