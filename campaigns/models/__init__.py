from .campaigns import Campaign, OutcomeCode
from .config import ConfigVersion
from .floors import Floor
from .leads import Attempt, Lead, Lease
from .lists import FloorQuota, ListBuild
from .people import Agent, DiallerIntegration
from .recordings import CampaignRecordingPolicy, Recording, RecordingNotice
from .rules import CountryPolicy

__all__ = [
    "Agent",
    "Attempt",
    "Campaign",
    "ConfigVersion",
    "DiallerIntegration",
    "Floor",
    "FloorQuota",
    "Lead",
    "Lease",
    "ListBuild",
    "OutcomeCode",
    "RecordingNotice",
    "Recording",
    "CampaignRecordingPolicy",
    "CountryPolicy",
]
