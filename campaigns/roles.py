"""Roles are Django groups; what each may do is Django model permissions granted here.

Every endpoint declares the permission it needs (see `api.permissions.RolePermission`); this table
is the one place that says which role holds it. A capability that adds models adds its grants here.
"""

from django.db import DEFAULT_DB_ALIAS

CAMPAIGN_MANAGER = "campaign_manager"
FLOOR_SUPERVISOR = "floor_supervisor"
AGENT = "agent"
QUALITY_EVALUATOR = "quality_evaluator"
DIALLER = "dialler"

ROLES = (CAMPAIGN_MANAGER, FLOOR_SUPERVISOR, AGENT, QUALITY_EVALUATOR, DIALLER)

# Roles whose members see every floor; the others are scoped to their own floor(s).
ALL_FLOORS_ROLES = frozenset({CAMPAIGN_MANAGER, QUALITY_EVALUATOR})


def _crud(model: str, app: str) -> list[str]:
    return [f"{app}.{verb}_{model}" for verb in ("view", "add", "change", "delete")]


ROLE_PERMISSIONS: dict[str, list[str]] = {
    CAMPAIGN_MANAGER: [
        *_crud("advertiser", "contacts"),
        *_crud("prospect", "contacts"),
        "contacts.view_phonenumber",
        "contacts.view_importjob",
        "contacts.add_importjob",
        "contacts.view_auditentry",
        # Compliance (issue 4): suppressions are lifted, never deleted; consents withdrawn, not deleted.
        "contacts.view_suppression",
        "contacts.add_suppression",
        "contacts.change_suppression",
        "contacts.view_registerimport",
        "contacts.add_registerimport",
        "contacts.view_consentrecord",
        "contacts.add_consentrecord",
        "contacts.change_consentrecord",
        # Country rules (issue 4): read by managers, edited by admins only (superusers).
        "campaigns.view_countrypolicy",
        "campaigns.explain_callability",
        *_crud("floor", "campaigns"),
        *_crud("agent", "campaigns"),
        *_crud("campaign", "campaigns"),
        *_crud("outcomecode", "campaigns"),
        "campaigns.view_lead",
        "campaigns.view_lease",
        "campaigns.view_attempt",
        "campaigns.view_diallerintegration",
        "campaigns.add_diallerintegration",
        "campaigns.change_diallerintegration",
        *_crud("floorquota", "campaigns"),
        "campaigns.view_listbuild",
        "campaigns.add_listbuild",
        # Issue 7: notices (a change is a new version), retention, playback (audited), reports.
        *_crud("recordingnotice", "campaigns"),
        *_crud("campaignrecordingpolicy", "campaigns"),
        "campaigns.view_recording",
        "campaigns.delete_recording",
        "campaigns.play_recording",
        "campaigns.view_recording_report",
    ],
    FLOOR_SUPERVISOR: [
        "campaigns.explain_callability",  # issue 4: why a lead of their floor is not dialled
        "campaigns.view_floor",
        "campaigns.view_agent",
        "campaigns.view_campaign",
        "campaigns.view_outcomecode",
        "campaigns.view_lead",
        "campaigns.view_attempt",
    ],
    AGENT: [
        "campaigns.view_campaign",
        "campaigns.view_outcomecode",
        "campaigns.view_lead",
        "campaigns.view_attempt",
        "campaigns.add_attempt",
        # Issue 6: an agent corrects an outcome it logged wrongly (audited).
        "campaigns.change_attempt",
    ],
    QUALITY_EVALUATOR: [
        "campaigns.view_floor",
        "campaigns.view_campaign",
        "campaigns.view_attempt",
        # Issue 7: mystery listening needs playback (every playback audited).
        "campaigns.view_recordingnotice",
        "campaigns.view_recording",
        "campaigns.play_recording",
    ],
    DIALLER: [
        "campaigns.lease_leads",
        "campaigns.view_outcomecode",
        # Issue 7: upload a recording or register its URI for an attempt of its own.
        "campaigns.add_recording",
        "campaigns.view_recordingnotice",
        # Issue 6: the suppression feed for diallers that cache numbers.
        "contacts.view_suppression",
    ],
}


def sync_role_permissions(sender=None, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    """Create the role groups and set their permissions to exactly the table above (idempotent)."""
    from django.contrib.auth.models import Group, Permission

    for role in ROLES:
        group, _ = Group.objects.using(using).get_or_create(name=role)
        wanted = set(ROLE_PERMISSIONS.get(role, []))
        perms = []
        for dotted in wanted:
            app_label, codename = dotted.split(".", 1)
            perm = (
                Permission.objects.using(using)
                .filter(content_type__app_label=app_label, codename=codename)
                .first()
            )
            if perm is not None:  # a model of a later migration may not exist yet
                perms.append(perm)
        group.permissions.set(perms)
