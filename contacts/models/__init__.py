from .advertisers import Advertiser
from .audit import AuditEntry
from .compliance import ConsentRecord, RegisterEntry, RegisterImport, Suppression
from .imports import ImportJob
from .prospects import PhoneNumber, Prospect

__all__ = [
    "Advertiser",
    "AuditEntry",
    "ConsentRecord",
    "ImportJob",
    "PhoneNumber",
    "Prospect",
    "RegisterEntry",
    "RegisterImport",
    "Suppression",
]
