from django.db import models

from config.fields import JSONField  # JSON typed into forms: see that module


class Floor(models.Model):
    """A team of agents at one site (plateau). Its own country, zone and languages are not its
    callees': Dakar (UTC+0) calls France (Paris time)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    site_city = models.CharField(max_length=100)
    country = models.CharField(max_length=2, help_text="Where the floor is, ISO 3166-1 alpha-2")
    time_zone = models.CharField(max_length=64, help_text="IANA zone of the floor, e.g. Africa/Dakar")
    languages = JSONField(default=list, help_text='Languages spoken, e.g. ["fr", "nl"]')
    callee_countries = JSONField(default=list, help_text='Countries served, e.g. ["FR", "BE"]')
    seats = models.PositiveIntegerField(default=0)
    # {"0": [["09:00", "18:00"]], …, "6": []}: weekday (Monday = 0) → intervals in the floor's zone.
    opening_hours = JSONField(default=dict, blank=True)
    outsourcer = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.site_city})"
