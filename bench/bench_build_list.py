"""Benchmark (issue 5): build a call list over 1,000,000 Belgian prospects, 10 % of them on the
internal do-not-call list and 2 % in the national register (DNCM), with
`campaigns.services.lists.run_list_build`, beside a hand-written `INSERT … SELECT` applying the same
exclusions, in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/telemarketing_bench .venv/bin/python bench/bench_build_list.py
    .venv/bin/python bench/bench_build_list.py --sqlite      # 100,000 prospects on SQLite

PostgreSQL: its own database (telemarketing_bench_list on the same server; BENCH_LIST_DB to
override), created and migrated if missing. SQLite: bench/data/bench_list.sqlite3.
BENCH_LIST_PROSPECTS changes the size. The service's time covers selection, the static rules of
the country-rules capability, the insert and the per-reason exclusion report; the split across
floors is timed separately (the baseline has no equivalent). Exits non-zero if the service and the
baseline do not select exactly the same prospects, or if the exclusion counts are wrong.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

SQLITE = "--sqlite" in sys.argv
N = int(os.environ.get("BENCH_LIST_PROSPECTS", "100000" if SQLITE else "1000000"))
DB_NAME = os.environ.get("BENCH_LIST_DB", "telemarketing_bench_list")
SUPPRESSED_EVERY = 10  # 10 % on the internal do-not-call list
REGISTER_EVERY = 50  # 2 % in the Belgian register (disjoint from the suppressed: offset 5)
ROUNDS = int(os.environ.get("BENCH_LIST_ROUNDS", "2"))
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def database_url() -> str:
    if SQLITE:
        path = BASE_DIR / "bench" / "data" / "bench_list.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    url = urlparse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/telemarketing_bench"))
    if not url.scheme.startswith("postgres"):
        sys.exit("use --sqlite for SQLite; otherwise DATABASE_URL=postgres://…")
    return urlunparse(url._replace(path=f"/{DB_NAME}"))


def ensure_database(url: str) -> None:
    if SQLITE:
        return
    import psycopg

    admin = urlunparse(urlparse(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone():
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


URL = database_url()
ensure_database(URL)
os.environ["DATABASE_URL"] = URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ["DEBUG"] = "false"  # DEBUG keeps every query in memory

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from campaigns.models import Campaign, Floor, Lead, ListBuild  # noqa: E402
from campaigns.selectors.callability import CALLABLE_TYPES  # noqa: E402
from campaigns.services.distribution import distribute_leads  # noqa: E402
from campaigns.services.lists import run_list_build  # noqa: E402
from contacts.models import (  # noqa: E402
    Advertiser,
    PhoneNumber,
    Prospect,
    RegisterEntry,
    RegisterImport,
    Suppression,
)
from contacts.services.suppression import number_hash  # noqa: E402


def e164(i: int) -> str:
    return f"+3247{i:07d}"  # Belgian mobiles


def _adapt(value):
    if isinstance(value, list | dict):
        return json.dumps(value)
    if SQLITE and isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")
    if SQLITE and isinstance(value, dt.date):
        return value.isoformat()
    return value


def _row_values(model, values: dict) -> tuple[list[str], list]:
    """Every concrete column of `model` (but the id): the given value, else the field default."""
    columns, row = [], []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(f.column)
        if f.name in values or f.attname in values:
            row.append(_adapt(values.get(f.name, values.get(f.attname))))
        elif f.null:
            row.append(None)
        else:
            row.append(_adapt(f.get_default()))
    return columns, row


def _bulk(model, rows) -> None:
    """COPY on PostgreSQL, executemany on SQLite, with column lists taken from the model."""
    rows = iter(rows)
    first = next(rows)
    columns, values = _row_values(model, first)
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                copy.write_row(values)
                for r in rows:
                    copy.write_row(_row_values(model, r)[1])
        else:
            sql = f"INSERT INTO {table} ({quoted}) VALUES ({', '.join(['%s'] * len(columns))})"
            batch = [values]
            for r in rows:
                batch.append(_row_values(model, r)[1])
                if len(batch) == 20_000:
                    cursor.executemany(sql, batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)


def generate() -> None:
    if Prospect.objects.count() == N and PhoneNumber.objects.count() == N:
        return
    print(f"generating {N:,} prospects…", flush=True)
    t0 = time.perf_counter()
    with transaction.atomic():
        for model in (Lead, PhoneNumber, Suppression, RegisterEntry, Prospect):
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")
        created = NOW - dt.timedelta(days=100)
        _bulk(
            Prospect,
            (
                {
                    "first_name": "Prénom",
                    "last_name": f"Nom{i}",
                    "language": "nl" if i % 5 < 3 else "fr",
                    "country": "BE",
                    "postcode": f"{1000 + i % 8000}",
                    "city": "Bruxelles",
                    "source": "bench",
                    "external_ref": f"b{i}",
                    "tags": [],
                    "created_at": created,
                    "updated_at": created,
                }
                for i in range(N)
            ),
        )
        ids = list(Prospect.objects.order_by("id").values_list("id", flat=True))
        _bulk(
            PhoneNumber,
            (
                {
                    "prospect_id": pid,
                    "raw": e164(i),
                    "e164": e164(i),
                    "region": "BE",
                    "number_type": "mobile",
                    "is_valid": True,
                    "time_zone": "Europe/Brussels",
                    "time_zone_candidates": ["Europe/Brussels"],
                    "created_at": created,
                }
                for i, pid in enumerate(ids)
            ),
        )
        _bulk(
            Suppression,
            (
                {
                    "scope": "global",
                    "e164": e164(i),
                    "number_hash": number_hash(e164(i)),
                    "reason": "objection",
                    "source": "bench",
                    "created_at": created,
                }
                for i in range(0, N, SUPPRESSED_EVERY)
            ),
        )
        RegisterImport.objects.filter(register="dncm").update(is_current=False)
        current = RegisterImport.objects.create(
            register="dncm",
            file_date=NOW.date() - dt.timedelta(days=1),
            status="done",
            is_current=True,
            created_at=NOW - dt.timedelta(days=1),
        )
        _bulk(
            RegisterEntry,
            (
                {
                    "register_import_id": current.pk,
                    "register": "dncm",
                    "number_key": e164(i),
                    "registered_at": dt.date(2020, 1, 1),
                }
                for i in range(5, N, REGISTER_EVERY)
            ),
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"generated in {time.perf_counter() - t0:.1f} s", flush=True)


def baseline(campaign: Campaign) -> tuple[float, int]:
    """The same exclusions, written by hand in one statement."""
    current = RegisterImport.objects.get(register="dncm", is_current=True)
    types = sorted(CALLABLE_TYPES)
    # The register check as a LEFT JOIN (one hash join), lifted by a consent given after the
    # registration (BE: "a consent dated after the registration overrides it").
    sql = f"""
        INSERT INTO campaigns_lead (campaign_id, prospect_id, phone_number_id, state, done_reason,
                                    priority, attempts, created_at, updated_at)
        SELECT %s, p.id, MIN(n.id), 'pending', '', %s, 0, %s, %s
        FROM contacts_prospect p
        JOIN contacts_phonenumber n ON n.prospect_id = p.id
        LEFT JOIN contacts_registerentry r ON r.register_import_id = %s AND r.number_key = n.e164
        WHERE p.country = 'BE' AND p.erased_at IS NULL
          AND n.is_valid AND n.number_type IN ({", ".join(["%s"] * len(types))})
          AND NOT EXISTS (SELECT 1 FROM contacts_suppression s
                          WHERE s.e164 = n.e164 AND s.created_at <= %s
                            AND (s.expires_at IS NULL OR s.expires_at > %s)
                            AND (s.scope = 'global' OR s.advertiser_id = %s))
          AND (r.id IS NULL OR EXISTS (SELECT 1 FROM contacts_consentrecord c
                                       WHERE c.prospect_id = p.id AND c.advertiser_id = %s
                                         AND c.purpose = 'telemarketing' AND c.given_at <= %s
                                         AND (c.withdrawn_at IS NULL OR c.withdrawn_at > %s)
                                         AND c.given_at >= r.registered_at))
          AND NOT EXISTS (SELECT 1 FROM campaigns_lead l WHERE l.campaign_id = %s AND l.prospect_id = p.id)
        GROUP BY p.id
        ON CONFLICT DO NOTHING
    """
    params = [
        campaign.pk,
        campaign.priority,
        NOW,
        NOW,
        current.pk,
        *types,
        NOW,
        NOW,
        campaign.advertiser_id,
        campaign.advertiser_id,
        NOW,
        NOW,
        campaign.pk,
    ]
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.rowcount
    return time.perf_counter() - t0, rows


def service(campaign: Campaign) -> tuple[float, ListBuild]:
    job = ListBuild.objects.create(campaign=campaign, created_at=NOW)
    t0 = time.perf_counter()
    job = run_list_build(build_id=job.pk, now=NOW, distribute=False)
    return time.perf_counter() - t0, job


def reset_leads() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE campaigns_lead CASCADE")
            cursor.execute("VACUUM ANALYZE campaigns_lead")
        else:
            cursor.execute("DELETE FROM campaigns_lead")


def main() -> int:
    call_command("migrate", verbosity=0)
    generate()
    advertiser, _ = Advertiser.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    for code, languages in (("brussels-fr", ["fr"]), ("antwerp-nl", ["nl"]), ("tunis", ["fr"])):
        Floor.objects.get_or_create(
            code=code,
            defaults={
                "name": code,
                "site_city": code,
                "country": "BE",
                "time_zone": "Africa/Tunis" if code == "tunis" else "Europe/Brussels",
                "languages": languages,
                "callee_countries": ["BE"],
                "seats": 40,
                "opening_hours": {str(d): [["09:00", "18:00"]] for d in range(5)},
            },
        )
    backend = connection.vendor
    expected_added = N - len(range(0, N, SUPPRESSED_EVERY)) - len(range(5, N, REGISTER_EVERY))
    best_base, best_service = float("inf"), float("inf")
    failures = []
    for round_ in range(ROUNDS):
        reset_leads()
        campaign = Campaign.objects.create(
            name=f"bench base {round_}",
            kind="offer",
            advertiser=advertiser,
            countries=["BE"],
            starts_on=NOW.date(),
            ends_on=NOW.date() + dt.timedelta(days=30),
        )
        seconds, rows = baseline(campaign)
        best_base = min(best_base, seconds)
        base_ids = set(Lead.objects.filter(campaign=campaign).values_list("prospect_id", flat=True))
        print(f"round {round_ + 1}: baseline INSERT … SELECT  {seconds:8.2f} s  {rows:,} leads", flush=True)

        reset_leads()
        campaign = Campaign.objects.create(
            name=f"bench service {round_}",
            kind="offer",
            advertiser=advertiser,
            countries=["BE"],
            starts_on=NOW.date(),
            ends_on=NOW.date() + dt.timedelta(days=30),
        )
        seconds, job = service(campaign)
        best_service = min(best_service, seconds)
        print(
            f"round {round_ + 1}: run_list_build          {seconds:8.2f} s  {job.added:,} leads, "
            f"excluded {job.excluded}",
            flush=True,
        )
        service_ids = set(Lead.objects.filter(campaign=campaign).values_list("prospect_id", flat=True))
        if job.status != "done":
            failures.append(f"build failed: {job.error}")
        if service_ids != base_ids or rows != job.added or job.added != expected_added:
            failures.append(
                f"different selections: service {job.added:,}, baseline {rows:,}, expected {expected_added:,}"
            )
        wanted = {
            "suppressed": len(range(0, N, SUPPRESSED_EVERY)),
            "register": len(range(5, N, REGISTER_EVERY)),
        }
        if job.excluded != wanted:
            failures.append(f"exclusion report {job.excluded} != {wanted}")
        if round_ == ROUNDS - 1:
            t0 = time.perf_counter()
            result = distribute_leads(campaign=campaign, now=NOW)
            print(
                f"split across floors (distribute_leads)   {time.perf_counter() - t0:8.2f} s  {result.assigned}",
                flush=True,
            )
    ratio = best_service / best_base
    print(
        f"\n{backend}, {N:,} prospects (1 in {SUPPRESSED_EVERY} suppressed, "
        f"1 in {REGISTER_EVERY} in the register): best of {ROUNDS}\n"
        f"  hand-written INSERT … SELECT : {best_base:8.2f} s  ({N / best_base:,.0f} prospects/s)\n"
        f"  run_list_build               : {best_service:8.2f} s  ({N / best_service:,.0f} prospects/s)\n"
        f"  ratio                        : {ratio:.2f}× (target ≤ 2×)"
    )
    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
