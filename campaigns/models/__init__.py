from .campaigns import Campaign, OutcomeCode
from .floors import Floor
from .leads import Attempt, Lead, Lease
from .people import Agent, DiallerIntegration
from .recordings import CampaignRecordingPolicy, Recording, RecordingNotice

__all__ = [
    "Agent",
    "Attempt",
    "Campaign",
    "DiallerIntegration",
    "Floor",
    "Lead",
    "Lease",
    "OutcomeCode",
    "RecordingNotice",
    "Recording",
    "CampaignRecordingPolicy",
]
