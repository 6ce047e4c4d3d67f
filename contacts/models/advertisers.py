from django.db import models


class Advertiser(models.Model):
    """The brand on whose behalf calls are made (e.g. a carmaker).

    Frequency caps (FR: 4 per 30 days), consents and per-advertiser suppressions are counted per
    advertiser across all its campaigns and floors, so it is a row, not a free-text field.
    """

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
