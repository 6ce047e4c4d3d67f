"""Managers' interface to floors, agents, campaigns, outcome codes, list builds and leads. Each view
validates, calls one service or selector, and serializes."""

from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from api.campaigns.serializers import (
    AgentSerializer,
    CampaignSerializer,
    DistributionRowSerializer,
    ExclusionReportSerializer,
    FloorSerializer,
    LeadSerializer,
    ListBuildSerializer,
    OutcomeCodeSerializer,
    QuotaSerializer,
    QuotasSerializer,
    TransitionSerializer,
)
from api.scoping import FloorScopedMixin
from campaigns.models import Agent, Campaign, Floor, FloorQuota, Lead, ListBuild, OutcomeCode
from campaigns.selectors.distribution import distribution_summary
from campaigns.selectors.leads import filter_leads, lead_counts
from campaigns.selectors.scoping import floor_ids_for
from campaigns.services.campaigns import (
    CampaignError,
    create_campaign,
    set_floor_quotas,
    transition_campaign,
    update_campaign,
)
from campaigns.services.floors import save_agent, save_floor
from campaigns.services.lists import exclusion_report, request_list_build
from campaigns.services.outcomes import OutcomeCodeError, save_outcome_code
from campaigns.tasks.lists import rebalance_campaign_task
from config.db import MAX_ID


def _bad_request(exc: CampaignError | OutcomeCodeError) -> Response:
    return Response({exc.field: [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)


class _ServiceSaveMixin:
    """Create and update through a service taking `data`, `actor`, `now` (and the instance)."""

    service = None
    instance_kwarg = ""

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            obj = type(self).service(data=serializer.validated_data, actor=request.user, now=timezone.now())
        except CampaignError as exc:
            return _bad_request(exc)
        return Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        try:
            obj = type(self).service(
                data=serializer.validated_data,
                actor=request.user,
                now=timezone.now(),
                **{self.instance_kwarg: instance},
            )
        except CampaignError as exc:
            return _bad_request(exc)
        return Response(self.get_serializer(obj).data)


class FloorViewSet(
    FloorScopedMixin,
    _ServiceSaveMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Floors (plateaux). Close one with `active: false` rather than deleting it: its leads and
    attempts keep pointing at it. Adding, closing or resizing a floor rebalances running lists."""

    queryset = Floor.objects.all().order_by("code")
    serializer_class = FloorSerializer
    floor_field = "id"
    service = staticmethod(save_floor)
    instance_kwarg = "floor"
    filterset_fields = ["active", "country", "code"]
    search_fields = ["code", "name", "site_city", "outsourcer"]
    ordering_fields = ["code", "seats"]


class AgentViewSet(
    FloorScopedMixin,
    _ServiceSaveMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Agent profiles; `code` is a stable pseudonym, given once."""

    queryset = Agent.objects.select_related("user", "floor").order_by("code")
    serializer_class = AgentSerializer
    service = staticmethod(save_agent)
    instance_kwarg = "agent"
    filterset_fields = ["floor__code", "is_supervisor"]


class CampaignViewSet(viewsets.ModelViewSet):
    """Campaigns. Status changes only through `POST …/transition/`; lists through `POST …/build/`."""

    queryset = Campaign.objects.select_related("advertiser").order_by("-id")
    serializer_class = CampaignSerializer
    filterset_fields = ["status", "kind", "advertiser__code"]
    search_fields = ["name", "product"]
    ordering_fields = ["id", "name", "starts_on", "priority"]
    required_permissions = {
        "transition": ["campaigns.change_campaign"],
        "build": ["campaigns.add_listbuild"],
        "list_builds": ["campaigns.view_listbuild"],
        "exclusion_report": ["campaigns.view_listbuild"],
        "distribution": ["campaigns.view_campaign", "campaigns.view_lead"],
        "quotas": ["campaigns.view_floorquota"],
        "rebalance": ["campaigns.change_campaign"],
    }

    def get_permissions(self):
        if self.action == "quotas" and self.request.method == "PUT":
            self.required_permissions = {
                **self.required_permissions,
                "quotas": ["campaigns.change_floorquota"],
            }
        return super().get_permissions()

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            campaign = create_campaign(data=serializer.validated_data, actor=request.user, now=timezone.now())
        except CampaignError as exc:
            return _bad_request(exc)
        return Response(self.get_serializer(campaign).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        campaign = self.get_object()
        serializer = self.get_serializer(campaign, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        try:
            campaign = update_campaign(
                campaign=campaign, data=serializer.validated_data, actor=request.user, now=timezone.now()
            )
        except CampaignError as exc:
            return _bad_request(exc)
        return Response(self.get_serializer(campaign).data)

    def destroy(self, request, *args, **kwargs):
        campaign = self.get_object()
        if campaign.status != Campaign.Status.DRAFT or campaign.leads.exists():
            return Response(
                {"detail": "Only a draft campaign without a list can be deleted; cancel it instead."},
                status=status.HTTP_409_CONFLICT,
            )
        try:
            with transaction.atomic():
                campaign.delete()
        except ProtectedError:
            return Response({"detail": "The campaign is referenced; cancel it instead."}, status=409)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=TransitionSerializer, responses={200: CampaignSerializer})
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        """Move the campaign along draft → ready → running ⇄ paused → finished, or cancelled."""
        campaign = self.get_object()
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            campaign = transition_campaign(
                campaign=campaign, to=serializer.validated_data["to"], actor=request.user, now=timezone.now()
            )
        except CampaignError as exc:
            return _bad_request(exc)
        return Response(CampaignSerializer(campaign).data)

    @extend_schema(request=None, responses={202: ListBuildSerializer})
    @action(detail=True, methods=["post"])
    def build(self, request, pk=None):
        """Queue a build (or rebuild) of the call list; poll the returned job for progress."""
        campaign = self.get_object()
        try:
            job, _created = request_list_build(campaign=campaign, actor=request.user, now=timezone.now())
        except CampaignError as exc:
            return _bad_request(exc)
        response = Response(ListBuildSerializer(job).data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = f"/api/v1/list-builds/{job.pk}/"
        return response

    @extend_schema(responses={200: ListBuildSerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="list-builds")
    def list_builds(self, request, pk=None):
        campaign = self.get_object()
        builds = ListBuild.objects.filter(campaign=campaign).order_by("-created_at", "-id")[:50]
        return Response(ListBuildSerializer(builds, many=True).data)

    @extend_schema(responses={200: ExclusionReportSerializer})
    @action(detail=True, methods=["get"], url_path="exclusion-report")
    def exclusion_report(self, request, pk=None):
        """Why prospects were left out, by reason, for the latest finished build."""
        campaign = self.get_object()
        build = (
            ListBuild.objects.filter(campaign=campaign, status=ListBuild.Status.DONE)
            .order_by("-finished_at", "-id")
            .first()
        )
        if build is None:
            return Response({"detail": "This campaign's list has not been built yet."}, status=404)
        return Response(ExclusionReportSerializer(exclusion_report(build)).data)

    @extend_schema(responses={200: DistributionRowSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def distribution(self, request, pk=None):
        """Per floor and country: assigned, remaining, done (a supervisor sees its floor only)."""
        campaign = self.get_object()
        rows = distribution_summary(campaign=campaign, floor_ids=floor_ids_for(request.user))
        return Response(DistributionRowSerializer(rows, many=True).data)

    @extend_schema(methods=["GET"], responses={200: QuotaSerializer(many=True)})
    @extend_schema(methods=["PUT"], request=QuotasSerializer, responses={200: QuotaSerializer(many=True)})
    @action(detail=True, methods=["get", "put"])
    def quotas(self, request, pk=None):
        """Manager quotas (percent per floor, adding up to 100) overriding the capacity split."""
        campaign = self.get_object()
        if request.method == "PUT":
            serializer = QuotasSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            quotas = {q["floor"]: q["percent"] for q in serializer.validated_data["quotas"]}
            try:
                set_floor_quotas(campaign=campaign, quotas=quotas, actor=request.user, now=timezone.now())
            except CampaignError as exc:
                return _bad_request(exc)
        rows = FloorQuota.objects.filter(campaign=campaign).select_related("floor").order_by("floor__code")
        return Response(QuotaSerializer(rows, many=True).data)

    @extend_schema(
        request=None,
        responses={202: inline_serializer("RebalanceQueued", {"campaign": serializers.IntegerField()})},
    )
    @action(detail=True, methods=["post"])
    def rebalance(self, request, pk=None):
        """Re-split the unleased open leads over the floors as they are now (queued)."""
        campaign = self.get_object()
        transaction.on_commit(lambda: rebalance_campaign_task.delay(campaign.pk))
        return Response({"campaign": campaign.pk}, status=status.HTTP_202_ACCEPTED)


class OutcomeCodeViewSet(viewsets.ModelViewSet):
    """A campaign's outcome codes (seeded from the default set at creation)."""

    queryset = OutcomeCode.objects.all().order_by("campaign_id", "code")
    serializer_class = OutcomeCodeSerializer
    filterset_fields = ["campaign", "category", "action"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        campaign = data.pop("campaign")
        try:
            code = save_outcome_code(campaign=campaign, data=data, actor=request.user, now=timezone.now())
        except OutcomeCodeError as exc:
            return _bad_request(exc)
        return Response(self.get_serializer(code).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        code = self.get_object()
        serializer = self.get_serializer(code, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        try:
            code = save_outcome_code(
                campaign=code.campaign,
                data=serializer.validated_data,
                actor=request.user,
                now=timezone.now(),
                instance=code,
            )
        except OutcomeCodeError as exc:
            return _bad_request(exc)
        return Response(self.get_serializer(code).data)

    def destroy(self, request, *args, **kwargs):
        code = self.get_object()
        try:
            code.delete()
        except ProtectedError:
            return Response(
                {"detail": "Calls were reported with this code; it cannot be deleted."},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ListBuildViewSet(viewsets.ReadOnlyModelViewSet):
    """List-build jobs: status, progress, counts and the exclusion report."""

    queryset = ListBuild.objects.all().order_by("-created_at", "-id")
    serializer_class = ListBuildSerializer
    filterset_fields = ["campaign", "status", "kind"]

    @extend_schema(responses={200: ExclusionReportSerializer})
    @action(detail=True, methods=["get"])
    def report(self, request, pk=None):
        return Response(ExclusionReportSerializer(exclusion_report(self.get_object())).data)


@extend_schema(
    parameters=[
        OpenApiParameter("campaign", int),
        OpenApiParameter("state", str, enum=Lead.State.values),
        OpenApiParameter("floor", str, description="floor code"),
        OpenApiParameter("country", str, description="callee country, e.g. FR"),
    ]
)
class LeadViewSet(FloorScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Leads of the caller's floors, filtered by campaign, state, floor and country. The list answer
    carries `counts` of the whole filtered set (by state, floor and country) beside the page."""

    queryset = Lead.objects.all()
    serializer_class = LeadSerializer
    filter_backends: list = []

    def get_queryset(self):
        params = self.request.query_params
        state = params.get("state") or None
        if state and state not in Lead.State.values:
            raise ValidationError(
                {"state": [f"Unknown state {state!r}; one of {', '.join(Lead.State.values)}."]}
            )
        campaign = params.get("campaign") or None
        # ASCII digits only ("²".isdigit() is true, int("²") fails), within the id column's range.
        if campaign is not None and not (
            campaign.isascii() and campaign.isdigit() and 0 < int(campaign) <= MAX_ID
        ):
            raise ValidationError({"campaign": ["Expected a campaign id."]})
        return filter_leads(
            super().get_queryset(),
            campaign=int(campaign) if campaign else None,
            state=state,
            floor=params.get("floor") or None,
            country=params.get("country") or None,
        )

    def list(self, request, *args, **kwargs):
        queryset = self.get_queryset()
        page = self.paginate_queryset(queryset)
        response = self.get_paginated_response(self.get_serializer(page, many=True).data)
        response.data["counts"] = lead_counts(queryset)
        return response
