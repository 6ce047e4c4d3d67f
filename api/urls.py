from django.urls import include, path
from rest_framework.routers import DefaultRouter

from api.accounts import urls as accounts
from api.campaigns import urls as campaigns
from api.compliance import urls as compliance
from api.contacts import urls as contacts
from api.diallers import urls as diallers
from api.recordings import urls as recordings
from api.rules import urls as rules

AREAS = (accounts, contacts, compliance, rules, campaigns, diallers, recordings)

router = DefaultRouter()
for area in AREAS:
    area.register(router)

urlpatterns = [path("", include(area.urlpatterns)) for area in AREAS] + [path("", include(router.urls))]
