from .advertisers import Advertiser
from .audit import AuditEntry
from .prospects import PhoneNumber, Prospect

__all__ = ["Advertiser", "AuditEntry", "PhoneNumber", "Prospect"]
