"""Demo floors: two French sites' worth of offshore capacity (Tunis, Dakar) serving France and
Belgium beside Lyon, and one floor per other country. Agent profiles for the demo agent and
supervisor users. Idempotent (by floor code; agent profiles by user)."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from campaigns.models import Agent, Floor
from campaigns.services.floors import save_agent, save_floor


def _days(days: range, start: str, end: str) -> dict[str, list[list[str]]]:
    return {str(d): [[start, end]] for d in days}


WEEK = range(5)
SAT = range(5, 6)

DEMO_FLOORS = [
    {
        "code": "lyon",
        "name": "Lyon Part-Dieu",
        "site_city": "Lyon",
        "country": "FR",
        "time_zone": "Europe/Paris",
        "languages": ["fr", "en"],
        "callee_countries": ["FR", "BE"],
        "seats": 60,
        "opening_hours": _days(WEEK, "09:00", "20:00") | _days(SAT, "09:00", "13:00"),
        "outsourcer": "Rhône Relation Client",
    },
    {
        "code": "tunis",
        "name": "Tunis Lac II",
        "site_city": "Tunis",
        "country": "TN",
        "time_zone": "Africa/Tunis",
        "languages": ["fr", "ar"],
        "callee_countries": ["FR", "BE"],
        "seats": 90,
        "opening_hours": _days(WEEK, "08:00", "19:00") | _days(SAT, "09:00", "14:00"),
        "outsourcer": "Medina Contact",
    },
    {
        "code": "dakar",
        "name": "Dakar Plateau",
        "site_city": "Dakar",
        "country": "SN",
        "time_zone": "Africa/Dakar",
        "languages": ["fr", "wo"],
        "callee_countries": ["FR", "BE"],
        "seats": 70,
        "opening_hours": _days(WEEK, "08:00", "18:00"),
        "outsourcer": "Teranga Call",
    },
    {
        "code": "lisbon",
        "name": "Lisboa Parque das Nações",
        "site_city": "Lisbon",
        "country": "PT",
        "time_zone": "Europe/Lisbon",
        "languages": ["pt", "es"],
        "callee_countries": ["PT"],
        "seats": 35,
        "opening_hours": _days(WEEK, "09:00", "21:00"),
        "outsourcer": "Atlântico Contact",
    },
    {
        "code": "madrid",
        "name": "Madrid Las Tablas",
        "site_city": "Madrid",
        "country": "ES",
        "time_zone": "Europe/Madrid",
        "languages": ["es", "ca"],
        "callee_countries": ["ES"],
        "seats": 40,
        "opening_hours": _days(WEEK, "09:00", "21:00"),
        "outsourcer": "Castilla Voz",
    },
    {
        "code": "milan",
        "name": "Milano Bicocca",
        "site_city": "Milan",
        "country": "IT",
        "time_zone": "Europe/Rome",
        "languages": ["it"],
        "callee_countries": ["IT"],
        "seats": 40,
        "opening_hours": _days(WEEK, "09:00", "20:00") | _days(SAT, "10:00", "14:00"),
        "outsourcer": "Lombardia Contatto",
    },
    {
        "code": "amsterdam",
        "name": "Amsterdam Sloterdijk",
        "site_city": "Amsterdam",
        "country": "NL",
        "time_zone": "Europe/Amsterdam",
        # Dutch speakers also call Flemish Belgium.
        "languages": ["nl", "en"],
        "callee_countries": ["NL", "BE"],
        "seats": 30,
        "opening_hours": _days(WEEK, "09:00", "21:00") | _days(SAT, "10:00", "16:00"),
        "outsourcer": "Polder Contact",
    },
    {
        "code": "berlin",
        "name": "Berlin Adlershof",
        "site_city": "Berlin",
        "country": "DE",
        "time_zone": "Europe/Berlin",
        "languages": ["de", "en"],
        "callee_countries": ["DE"],
        "seats": 45,
        "opening_hours": _days(WEEK, "08:00", "20:00") | _days(SAT, "09:00", "14:00"),
        "outsourcer": "Spree Dialog",
    },
]
# Demo users (created by the accounts step) → (floor, supervisor?)
DEMO_AGENTS = {"demo-agent": ("lyon", False), "demo-floor-supervisor": ("dakar", True)}


def load_floors(*, now, log) -> None:
    created = 0
    for data in DEMO_FLOORS:
        if not Floor.objects.filter(code=data["code"]).exists():
            save_floor(data=data, actor=None, now=now)
            created += 1
    User = get_user_model()
    for username, (code, supervisor) in DEMO_AGENTS.items():
        user = User.objects.filter(username=username).first()
        if user is None or Agent.objects.filter(user=user).exists():
            continue
        floor = Floor.objects.get(code=code)
        save_agent(
            data={"user": user, "floor": floor, "languages": floor.languages, "is_supervisor": supervisor},
            actor=None,
            now=now,
        )
    log(f"Floors: {Floor.objects.count()} ({created} new): {', '.join(f['code'] for f in DEMO_FLOORS)}")
