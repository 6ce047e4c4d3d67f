from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from api.rules.serializers import (
    CallabilityDecisionSerializer,
    CallabilityQuerySerializer,
    CountryPolicySerializer,
)
from campaigns.models import Campaign, CountryPolicy, Lead
from campaigns.selectors.calendar import zone
from campaigns.selectors.callability import callability
from campaigns.selectors.scoping import floor_ids_for
from campaigns.services.policies import PolicyError, delete_policy, save_policy
from contacts.models import PhoneNumber


class CountryPolicyViewSet(viewsets.ModelViewSet):
    """Country policies (effective-dated rules). Managers read; only admins (superusers, or a user
    granted the model's add/change/delete permissions) write. Every write is audited."""

    queryset = CountryPolicy.objects.all()
    serializer_class = CountryPolicySerializer
    filterset_fields = ["country", "legal_basis", "register"]
    ordering_fields = ["country", "effective_from"]

    def _save(self, serializer):
        policy = serializer.instance or CountryPolicy()
        for name, value in serializer.validated_data.items():
            setattr(policy, name, value)
        try:
            save_policy(policy=policy, actor=self.request.user, now=timezone.now())
        except PolicyError as exc:
            raise serializers.ValidationError({exc.field: [exc.message]}) from None
        serializer.instance = policy

    perform_create = _save
    perform_update = _save

    def perform_destroy(self, instance):
        delete_policy(policy=instance, actor=self.request.user, now=timezone.now())


class CallabilityView(APIView):
    """Why a number may or may not be called for a campaign at an instant, and when it next may.

    Supervisors may ask only about numbers that have a lead on one of their floors (404 otherwise).
    """

    required_permissions = {"GET": ["campaigns.explain_callability"]}

    @extend_schema(
        parameters=[
            OpenApiParameter("phone_number", str, required=True),
            OpenApiParameter("campaign", int, required=True),
            OpenApiParameter("at", str, required=False, description="ISO 8601 with offset; default now"),
        ],
        responses=CallabilityDecisionSerializer,
    )
    def get(self, request):
        query = CallabilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        at = data.get("at") or timezone.now()
        ref = data["phone_number"].strip()
        if ref.startswith("+"):
            number = PhoneNumber.objects.filter(e164=ref).first()
        elif ref.isdigit() and len(ref) < 19:
            number = PhoneNumber.objects.filter(pk=int(ref)).first()
        else:
            raise serializers.ValidationError(
                {"phone_number": ["Give a number id or an E.164 starting with +."]}
            )
        campaign = Campaign.objects.filter(pk=data["campaign"]).first()
        if campaign is None:
            raise serializers.ValidationError({"campaign": [f"No campaign {data['campaign']}."]})
        floors = floor_ids_for(request.user)
        if number is not None and floors is not None:
            if not Lead.objects.filter(phone_number=number, campaign=campaign, floor_id__in=floors).exists():
                number = None
        if number is None:
            raise NotFound("No such phone number.")
        decision = callability(number=number, campaign=campaign, at=at)
        payload = {
            "phone_number": number.pk,
            "e164": number.e164,
            "campaign": campaign.pk,
            "at": at,
            "callable": decision.callable,
            "reasons": list(decision.reasons),
            "next_callable_at": decision.next_callable_at,
            # The same instant on the callee's clock, which is what a manager reasons in.
            "next_callable_at_local": (
                decision.next_callable_at.astimezone(zone(decision.details["zones"][0])).isoformat()
                if decision.next_callable_at
                else None
            ),
            "details": decision.details,
        }
        return Response(CallabilityDecisionSerializer(payload).data)
