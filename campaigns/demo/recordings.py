"""Demo recording notices in the 7 countries' languages, a French campaign keeping recordings 90
days (its own choice within CNIL's 6 months), and attempts with small generated WAV recordings whose
purge dates differ (FR 90 days, PT 30 days by CNPD; DE only after a recorded yes), plus an
objection and a non-compliant attempt for the reports.

Idempotent: notices are published only for a (country, language) without one; demo attempts are
found again by their `call_id` ("demo-rec-…"). Existing floors, campaigns and prospects are reused;
a minimal path is created only where none exists.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import struct
import wave

from django.core.files.base import ContentFile

from campaigns.models import Attempt, Campaign, Floor, OutcomeCode, Recording, RecordingNotice
from campaigns.selectors.notices import resolve_notice
from campaigns.services.notices import publish_notice
from campaigns.services.recordings import attach_recording, set_campaign_retention
from contacts.models import Advertiser, PhoneNumber, Prospect

NOTICES_FROM = dt.date(2026, 1, 1)
NOTICES = [
    (
        "FR",
        "fr",
        "inform_object",
        "Bonjour, cet appel est enregistré par Autodemo pour l'amélioration de la qualité de service et "
        "la formation. L'enregistrement est conservé 3 mois au plus. Vous pouvez vous y opposer à tout "
        "moment de l'appel, et exercer vos droits d'accès et d'effacement auprès de notre délégué à la "
        "protection des données ou introduire une réclamation auprès de la CNIL.",
    ),
    (
        "BE",
        "fr",
        "inform_object",
        "Bonjour, cet appel est enregistré par Autodemo à des fins de contrôle de la qualité et conservé "
        "6 mois au plus. Vous pouvez vous opposer à l'enregistrement à tout moment.",
    ),
    (
        "BE",
        "nl",
        "inform_object",
        "Goedendag, dit gesprek wordt door Autodemo opgenomen voor kwaliteitscontrole en ten hoogste 6 "
        "maanden bewaard. U kunt zich op elk moment tegen de opname verzetten.",
    ),
    (
        "NL",
        "nl",
        "inform_object",
        "Goedendag, dit gesprek wordt opgenomen voor kwaliteits- en trainingsdoeleinden. Wilt u dat "
        "niet, zeg het dan gerust; de opname wordt dan direct gestopt.",
    ),
    (
        "DE",
        "de",
        "ask_consent",
        "Guten Tag, hier ist Autodemo. Wir möchten dieses Gespräch zur Qualitätssicherung aufzeichnen. "
        "Sind Sie damit einverstanden? Bitte antworten Sie mit Ja oder Nein; ohne Ihr Ja wird nichts "
        "aufgezeichnet.",
    ),
    (
        "IT",
        "it",
        "inform_object",
        "Buongiorno, la informiamo che questa chiamata di Autodemo è registrata per finalità di "
        "controllo della qualità. Può opporsi alla registrazione in qualsiasi momento.",
    ),
    (
        "ES",
        "es",
        "inform_object",
        "Buenos días, le llama Autodemo con fines comerciales. Esta llamada se graba para mejorar la "
        "calidad del servicio; puede oponerse a la grabación en cualquier momento.",
    ),
    (
        "PT",
        "pt",
        "inform_object",
        "Bom dia, fala a Autodemo. Esta chamada é gravada para controlo de qualidade e a gravação é "
        "conservada durante 30 dias. Pode opor-se à gravação a qualquer momento.",
    ),
]

# (call_id, country, language, days before now, notice answer, recorded?)
DEMO_CALLS = [
    ("demo-rec-fr-1", "FR", "fr", 86, "no_answer", True),  # purge in 4 days (campaign: 90 days)
    ("demo-rec-fr-2", "FR", "fr", 10, "no_answer", True),  # purge in 80 days
    ("demo-rec-pt-1", "PT", "pt", 26, "no_answer", True),  # purge in 4 days (CNPD: 30 days)
    ("demo-rec-pt-2", "PT", "pt", 2, "no_answer", True),  # purge in 28 days
    ("demo-rec-de-1", "DE", "de", 1, "consented", True),  # purge in 89 days (the campaign's 90)
    ("demo-rec-de-2", "DE", "de", 1, "no_answer", False),  # no yes: never recorded (§201 StGB)
    ("demo-rec-be-1", "BE", "nl", 3, "objected", False),  # objection: never recorded
    ("demo-rec-it-1", "IT", "it", 2, "", False),  # notice not played: non-compliant report
]
DEMO_NUMBERS = {
    "FR": ("+33612990001", "Europe/Paris"),
    "PT": ("+351912990001", "Europe/Lisbon"),
    "DE": ("+4915112990001", "Europe/Berlin"),
    "BE": ("+32471990001", "Europe/Brussels"),
    "IT": ("+393471990001", "Europe/Rome"),
}
FRENCH_CAMPAIGN_RETENTION_DAYS = 90  # the carmaker's choice, within CNIL's 6 months


def demo_wav(seconds: float, pitch: float) -> bytes:
    """A short 8 kHz mono tone, the size of a real G.711 export (stdlib `wave`, no dependency)."""
    rate = 8000
    frames = b"".join(
        struct.pack("<h", int(6000 * math.sin(2 * math.pi * pitch * i / rate)))
        for i in range(int(seconds * rate))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


def load_recordings(*, now: dt.datetime, log) -> None:
    published = _notices(now=now)
    campaign = _french_campaign(now=now)
    recorded = _calls(campaign=campaign, now=now)
    due = Recording.objects.filter(purged_at__isnull=True, purge_after__lt=now + dt.timedelta(days=7)).count()
    log(
        f"Recordings: {RecordingNotice.objects.count()} notices ({published} new) in FR, BE, NL, DE, IT, ES, PT; "
        f"{recorded} new demo recordings, {due} due for purge within 7 days "
        f"(admin: /admin/campaigns/recording/reports/)."
    )


def _notices(*, now) -> int:
    published = 0
    for country, language, mode, text in NOTICES:
        if RecordingNotice.objects.filter(country=country, language=language).exists():
            continue
        publish_notice(
            country=country,
            language=language,
            mode=mode,
            text=text,
            effective_from=NOTICES_FROM,
            actor=None,
            now=now,
        )
        published += 1
    return published


def _french_campaign(*, now) -> Campaign:
    campaign = next((c for c in Campaign.objects.order_by("id") if "FR" in (c.countries or [])), None)
    if campaign is None:
        advertiser = Advertiser.objects.order_by("id").first() or Advertiser.objects.create(
            code="autodemo", name="Autodemo"
        )
        campaign = Campaign.objects.create(
            name="Essai Modèle E (démo enregistrements)",
            kind=Campaign.Kind.TEST_DRIVE,
            advertiser=advertiser,
            product="Modèle E",
            countries=["FR", "BE", "NL", "DE", "IT", "ES", "PT"],
            languages=["fr", "nl", "de", "it", "es", "pt"],
            starts_on=(now - dt.timedelta(days=120)).date(),
            ends_on=(now + dt.timedelta(days=120)).date(),
        )
    if not hasattr(campaign, "recording_policy"):
        set_campaign_retention(
            campaign=campaign, retention_days=FRENCH_CAMPAIGN_RETENTION_DAYS, actor=None, now=now
        )
    return campaign


def _floor() -> Floor:
    floor = Floor.objects.filter(active=True).order_by("id").first()
    if floor is None:
        floor = Floor.objects.create(
            code="demo-lyon",
            name="Lyon (demo)",
            site_city="Lyon",
            country="FR",
            time_zone="Europe/Paris",
            languages=["fr", "nl", "de", "it", "es", "pt"],
            callee_countries=["FR", "BE", "NL", "DE", "IT", "ES", "PT"],
            seats=20,
        )
    return floor


def _number(country: str, language: str) -> PhoneNumber:
    number = (
        PhoneNumber.objects.filter(prospect__country=country, prospect__erased_at__isnull=True, is_valid=True)
        .select_related("prospect")
        .order_by("id")
        .first()
    )
    if number is not None:
        return number
    e164, zone = DEMO_NUMBERS[country]
    prospect = Prospect.objects.create(
        first_name="Démo",
        last_name=f"Enregistrement {country}",
        language=language,
        country=country,
        source="demo-recordings",
    )
    return PhoneNumber.objects.create(
        prospect=prospect,
        e164=e164,
        raw=e164,
        region=country,
        number_type=PhoneNumber.Type.MOBILE,
        time_zone=zone,
        time_zone_candidates=[zone],
    )


def _outcome(campaign: Campaign) -> OutcomeCode:
    outcome = campaign.outcome_codes.exclude(category=OutcomeCode.Category.NO_CONTACT).order_by("id").first()
    return outcome or OutcomeCode.objects.create(
        campaign=campaign,
        code="not-interested",
        label="Not interested",
        category=OutcomeCode.Category.REFUSAL,
        action=OutcomeCode.Action.FINAL,
    )


def _calls(*, campaign: Campaign, now) -> int:
    floor = _floor()
    outcome = _outcome(campaign)
    recorded = 0
    for index, (call_id, country, language, days_ago, answer, with_recording) in enumerate(DEMO_CALLS):
        attempt = Attempt.objects.filter(call_id=call_id, integration__isnull=True).first()
        if attempt is None:
            number = _number(country, language)
            started = now - dt.timedelta(days=days_ago, hours=index)
            notice = resolve_notice(campaign=campaign, prospect=number.prospect, at=started)
            attempt = Attempt.objects.create(
                campaign=campaign,
                advertiser=campaign.advertiser,
                prospect=number.prospect,
                phone_number=number,
                floor=floor,
                call_id=call_id,
                outcome=outcome,
                started_at=started,
                answered_at=started + dt.timedelta(seconds=6),
                ended_at=started + dt.timedelta(minutes=3),
                notice=notice if answer else None,
                notice_played=bool(answer),
                notice_answer=answer,
            )
        if with_recording and not Recording.objects.filter(attempt=attempt).exists():
            audio = ContentFile(demo_wav(1.5, 220 + 40 * index), name=f"{call_id}.wav")
            attach_recording(attempt=attempt, file=audio, duration_seconds=180, actor=None, now=now)
            recorded += 1
    return recorded
