"""The demo advertiser. Created before consents and campaigns: consents are given to an advertiser,
and every demo campaign calls on its behalf, so it must exist before either."""

from contacts.models import Advertiser


def load_advertisers(*, now, log) -> None:
    advertiser, created = Advertiser.objects.get_or_create(
        code="aurora-motors", defaults={"name": "Aurora Motors"}
    )
    log(f"Advertiser: {advertiser.name} ({'new' if created else 'kept'})")
