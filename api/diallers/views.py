"""Dialler and agent endpoints (issue 6). Views validate, call one service or selector, serialize."""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from api.diallers import examples
from api.diallers.parsing import ItemErrors, parse_result_item
from api.diallers.serializers import (
    AgentOutcomeResponseSerializer,
    AgentOutcomeSerializer,
    AwareDateTimeField,
    CallbackSerializer,
    ExtendSerializer,
    HistoryEntrySerializer,
    LeaseRequestSerializer,
    LeaseResponseSerializer,
    LeaseStateSerializer,
    ReleasedSerializer,
    ReleaseSerializer,
    ResultsRequestDocSerializer,
    ResultsRequestSerializer,
    ResultsResponseSerializer,
    SuppressionFeedSerializer,
)
from campaigns.models import Attempt, Campaign, Lead
from campaigns.selectors.callbacks import callback_decisions, due_callbacks
from campaigns.selectors.history import contact_history
from campaigns.selectors.lease_config import lease_config
from campaigns.selectors.queue import explain_empty_queue, lease_items
from campaigns.selectors.scoping import floor_ids_for
from campaigns.services.leases import (
    LeaseClosed,
    LeaseError,
    LeaseForbidden,
    LeaseNotFound,
    extend_lease,
    lease_leads,
    release_lease,
)
from campaigns.services.results import ResultError, record_agent_outcome, record_results
from contacts.selectors.suppression import suppression_changes

DIALLER_PERMS = ["campaigns.lease_leads"]


def _integration(request):
    try:
        return request.user.dialler_integration
    except Exception:  # RelatedObjectDoesNotExist: a person, not a dialler credential
        raise PermissionDenied("Only a dialler credential may do this.") from None


def _lease_error(exc: LeaseError):
    if isinstance(exc, LeaseForbidden):
        raise PermissionDenied(str(exc))
    if isinstance(exc, LeaseNotFound):
        raise NotFound(str(exc))
    if isinstance(exc, LeaseClosed):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    raise ValidationError({exc.field: [str(exc)]})


class LeaseView(APIView):
    """Lease the next callable leads of one of the dialler's floors.

    Each lead is exclusive to this lease until it is reported, released or the lease expires, and
    passed the full callability check at this instant. Due callbacks come first, then priority,
    then the longest-waiting. An empty answer says why in `empty` and when to ask again.
    """

    required_permissions = {"POST": DIALLER_PERMS}

    @extend_schema(
        request=LeaseRequestSerializer,
        responses={200: LeaseResponseSerializer},
        examples=[
            OpenApiExample("Lease 2 leads", value=examples.LEASE_REQUEST, request_only=True),
            OpenApiExample("Leased", value=examples.LEASE_RESPONSE, response_only=True),
            OpenApiExample("Nothing callable now", value=examples.LEASE_EMPTY, response_only=True),
        ],
        tags=["dialler"],
    )
    def post(self, request):
        integration = _integration(request)
        data = LeaseRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        # Read once for the request (campaigns, policies, notices, floors; cached per process until
        # they change): the service's scope check and the lease items use the same copy.
        config = lease_config()
        floors = config.floors_of(integration)
        code = params.get("floor")
        if code is None:
            if not floors:
                raise PermissionDenied("This dialler credential serves no floor.")
            if len(floors) != 1:
                raise ValidationError({"floor": ["This credential serves several floors: name one."]})
            floor = floors[0]
        else:
            floor = next((f for f in floors if f.code == code), None)
            if floor is None:
                raise PermissionDenied("floor: this dialler is not scoped to that floor.")
        campaign = None
        if params.get("campaign") is not None:
            campaign = Campaign.objects.filter(pk=params["campaign"]).first()
            if campaign is None:
                raise ValidationError({"campaign": [f"No campaign {params['campaign']}."]})
        now = timezone.now()
        try:
            outcome = lease_leads(
                integration=integration,
                floor=floor,
                size=params["size"],
                ttl=timedelta(seconds=params["ttl_seconds"]),
                campaign=campaign,
                now=now,
                actor=request.user,
                config=config,
            )
        except LeaseError as exc:
            return _lease_error(exc)
        if outcome.lease is None:
            empty = explain_empty_queue(
                floor=floor,
                at=now,
                campaign=campaign,
                refused=outcome.refused,
                refused_next_at=outcome.refused_next_at,
                running_campaign_ids=sorted(config.running),
            )
            body = {
                "lease": None,
                "expires_at": None,
                "floor": floor.code,
                "count": 0,
                "items": [],
                "empty": empty,
            }
        else:
            body = {
                "lease": outcome.lease.pk,
                "expires_at": outcome.lease.expires_at,
                "floor": floor.code,
                "count": len(outcome.leads),
                "items": lease_items(outcome=outcome, at=now),
                "empty": None,
            }
            # Plain JSON types already (times in UTC): re-serialising 500 items adds ~40 ms.
            return Response(body)
        return Response(LeaseResponseSerializer(body).data)


class LeaseExtendView(APIView):
    """Heartbeat: keep a live lease for another `ttl_seconds` from now."""

    required_permissions = {"POST": DIALLER_PERMS}

    @extend_schema(
        request=ExtendSerializer,
        responses={200: LeaseStateSerializer, 409: None},
        examples=[
            OpenApiExample("Extend by 5 minutes", value={"ttl_seconds": 300}, request_only=True),
            OpenApiExample("Extended", value=examples.EXTENDED, response_only=True),
        ],
        tags=["dialler"],
    )
    def post(self, request, lease_id):
        integration = _integration(request)
        data = ExtendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            lease = extend_lease(
                integration=integration,
                lease_id=lease_id,
                ttl=timedelta(seconds=data.validated_data["ttl_seconds"]),
                now=timezone.now(),
            )
        except LeaseError as exc:
            return _lease_error(exc)
        return Response(LeaseStateSerializer({"lease": lease.pk, "expires_at": lease.expires_at}).data)


class LeaseReleaseView(APIView):
    """Return unused leads: the listed ones (the lease stays live), or all and end the lease."""

    required_permissions = {"POST": DIALLER_PERMS}

    @extend_schema(
        request=ReleaseSerializer,
        responses={200: ReleasedSerializer, 409: None},
        examples=[
            OpenApiExample("Return two leads", value={"leads": [101, 102]}, request_only=True),
            OpenApiExample("End the lease", value={}, request_only=True),
            OpenApiExample("Released", value=examples.RELEASED, response_only=True),
        ],
        tags=["dialler"],
    )
    def post(self, request, lease_id):
        integration = _integration(request)
        data = ReleaseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lead_ids = data.validated_data.get("leads")
        try:
            count = release_lease(
                integration=integration,
                lease_id=lease_id,
                lead_ids=lead_ids,
                now=timezone.now(),
                actor=request.user,
            )
        except LeaseError as exc:
            return _lease_error(exc)
        return Response(
            ReleasedSerializer({"lease": lease_id, "returned": count, "ended": lead_ids is None}).data
        )


class ResultsView(APIView):
    """Post up to 500 call results. Each item is answered on its own: created, duplicate (the same
    `call_id` was already recorded for this dialler: nothing changes) or rejected with a reason.
    A do-not-call outcome or an objection suppresses the number before this response is sent."""

    required_permissions = {"POST": DIALLER_PERMS}

    @extend_schema(
        request=ResultsRequestDocSerializer,
        responses={200: ResultsResponseSerializer},
        examples=[
            OpenApiExample("Three results", value=examples.RESULTS_REQUEST, request_only=True),
            OpenApiExample("Per-item statuses", value=examples.RESULTS_RESPONSE, response_only=True),
        ],
        tags=["dialler"],
    )
    def post(self, request):
        integration = _integration(request)
        envelope = ResultsRequestSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)  # the list and its size; each item below
        valid: list[tuple[int, dict]] = []
        invalid: dict[int, dict] = {}
        for index, raw in enumerate(envelope.validated_data["results"]):
            try:
                valid.append((index, parse_result_item(raw)))
            except ItemErrors as exc:
                invalid[index] = {
                    "index": index,
                    "call_id": str(raw.get("call_id", "")) if isinstance(raw, dict) else "",
                    "status": "rejected",
                    "attempt": None,
                    "reason": "invalid",
                    "detail": str(exc),
                    "suppressed": False,
                    "recording": "",
                }
        try:
            statuses = record_results(
                integration=integration, items=valid, now=timezone.now(), actor=request.user
            )
        except ResultError as exc:
            raise ValidationError({"results": [str(exc)]}) from None
        merged = {s.index: s.as_dict() for s in statuses} | invalid
        rows = [merged[i] for i in sorted(merged)]
        body = {
            "created": sum(r["status"] == "created" for r in rows),
            "duplicate": sum(r["status"] == "duplicate" for r in rows),
            "rejected": sum(r["status"] == "rejected" for r in rows),
            "results": rows,
        }
        # Plain JSON types already: a response serializer over 500 rows costs more than it checks.
        return Response(body)


class SuppressionFeedView(APIView):
    """Suppression changes after a cursor, oldest first, for diallers that cache numbers.
    Store `next_cursor` and ask again from it; `has_more` says to ask at once."""

    required_permissions = {"GET": ["contacts.view_suppression"]}

    @extend_schema(
        parameters=[
            OpenApiParameter("since", int, description="Last change id applied (0 at first)"),
            OpenApiParameter("limit", int, description="At most this many changes (1–10000, default 1000)"),
        ],
        responses={200: SuppressionFeedSerializer},
        examples=[OpenApiExample("Two changes", value=examples.SUPPRESSION_FEED, response_only=True)],
        tags=["dialler"],
    )
    def get(self, request):
        try:
            since = int(request.query_params.get("since", 0))
            limit = int(request.query_params.get("limit", 1000))
        except ValueError:
            raise ValidationError({"since": ["since and limit must be integers."]}) from None
        if since < 0 or not (1 <= limit <= 10_000):
            raise ValidationError({"limit": ["since ≥ 0 and 1 ≤ limit ≤ 10000."]})
        changes = suppression_changes(since_id=since, limit=limit + 1)
        has_more = len(changes) > limit
        changes = changes[:limit]
        codes = {}
        if any(c.advertiser_id for c in changes):
            from contacts.models import Advertiser

            codes = dict(
                Advertiser.objects.filter(pk__in={c.advertiser_id for c in changes}).values_list("pk", "code")
            )
        for change in changes:
            change.advertiser_code = codes.get(change.advertiser_id)
        body = {"results": changes, "next_cursor": changes[-1].pk if changes else since, "has_more": has_more}
        return Response(SuppressionFeedSerializer(body).data)


# --- agents ---------------------------------------------------------------------------------------


def _agent(request):
    try:
        return request.user.agent
    except Exception:  # RelatedObjectDoesNotExist
        raise PermissionDenied("Only an agent or supervisor of a floor may do this.") from None


def _floor_lead(request, lead_id) -> Lead:
    """The lead if it is on one of the caller's floors; another floor's lead does not exist (404)."""
    floors = floor_ids_for(request.user)
    leads = Lead.objects.select_related("campaign", "prospect", "phone_number")
    if floors is not None:
        leads = leads.filter(floor_id__in=floors)
    lead = leads.filter(pk=lead_id).first()
    if lead is None:
        raise NotFound("No such lead on your floor.")
    return lead


class AgentOutcomeView(APIView):
    """Log what the customer said (a new attempt) or, with `attempt`, correct an attempt's outcome.
    The outcome's rule moves the lead (retry, callback, done); do-not-call and objections
    suppress the number before the response."""

    required_permissions = {"POST": ["campaigns.add_attempt"]}

    @extend_schema(
        request=AgentOutcomeSerializer,
        responses={201: AgentOutcomeResponseSerializer, 200: AgentOutcomeResponseSerializer},
        examples=[
            OpenApiExample("Callback tomorrow", value=examples.AGENT_OUTCOME, request_only=True),
            OpenApiExample("Correction", value=examples.AGENT_CORRECTION, request_only=True),
            OpenApiExample("Logged", value=examples.AGENT_OUTCOME_RESPONSE, response_only=True),
        ],
        tags=["agent"],
    )
    def post(self, request, lead_id):
        agent = _agent(request)
        lead = _floor_lead(request, lead_id)
        data = AgentOutcomeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = dict(data.validated_data)
        attempt = None
        if params.get("attempt") is not None:
            if not request.user.has_perm("campaigns.change_attempt"):
                raise PermissionDenied("Correcting an outcome needs campaigns.change_attempt.")
            attempt = (
                Attempt.objects.select_related("outcome").filter(pk=params["attempt"], lead=lead).first()
            )
            if attempt is None:
                raise ValidationError({"attempt": [f"No attempt {params['attempt']} on lead {lead.pk}."]})
        appointment = dict(params["appointment"]) if params.get("appointment") else None
        try:
            saved = record_agent_outcome(
                agent=agent,
                lead=lead,
                outcome_code=params["outcome"],
                attempt=attempt,
                started_at=params.get("started_at"),
                callback_at=params.get("callback_at"),
                callback_personal=params["callback_personal"],
                note=params["note"],
                appointment=appointment,
                objection=params["objection"],
                now=timezone.now(),
                actor=request.user,
            )
        except ResultError as exc:
            if exc.reason == "not_your_floor":
                raise NotFound(str(exc)) from None
            field = str(exc).split(":", 1)[0] if ":" in str(exc) else "non_field_errors"
            raise ValidationError({field: [str(exc)]}) from None
        lead.refresh_from_db()
        body = AgentOutcomeResponseSerializer({"attempt": saved, "lead": lead}).data
        return Response(body, status=status.HTTP_201_CREATED if attempt is None else status.HTTP_200_OK)


class AgentCallbacksView(APIView):
    """Callbacks due now (or by `until`) on the caller's floor: `scope=mine` (personal and
    unassigned, default) or `scope=floor` (all of them)."""

    required_permissions = {"GET": ["campaigns.view_lead"]}

    @extend_schema(
        parameters=[
            OpenApiParameter("scope", str, enum=["mine", "floor"]),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="Due by this instant (default now)"),
        ],
        responses={200: CallbackSerializer(many=True)},
        examples=[OpenApiExample("One due callback", value=examples.CALLBACKS, response_only=True)],
        tags=["agent"],
    )
    def get(self, request):
        agent = _agent(request)
        scope = request.query_params.get("scope", "mine")
        if scope not in ("mine", "floor"):
            raise ValidationError({"scope": ["Use mine or floor."]})
        until = None
        if request.query_params.get("until"):
            try:
                until = AwareDateTimeField().run_validation(request.query_params["until"])
            except ValidationError as exc:
                raise ValidationError({"until": exc.detail}) from None
        now = timezone.now()
        leads = list(due_callbacks(agent=agent, at=now, scope=scope, until=until)[:500])
        # Each callback with the hand-over decision at this instant: an agent dialling by hand
        # gets the same checks as a dialler (DOMAIN.md promise 2), and no number to dial when the
        # answer is no.
        decisions = callback_decisions(leads, at=now)
        return Response(CallbackSerializer(leads, many=True, context={"decisions": decisions}).data)


class LeadHistoryView(APIView):
    """A lead's contact history: the prospect's previous attempts and outcomes in every campaign,
    newest first, so the agent recognises the customer."""

    required_permissions = {"GET": ["campaigns.view_attempt"]}

    @extend_schema(
        responses={200: HistoryEntrySerializer(many=True)},
        examples=[OpenApiExample("Two previous calls", value=examples.HISTORY, response_only=True)],
        tags=["agent"],
    )
    def get(self, request, lead_id):
        lead = _floor_lead(request, lead_id)
        attempts = contact_history(lead=lead)
        return Response(HistoryEntrySerializer(attempts, many=True, context={"floor_id": lead.floor_id}).data)
