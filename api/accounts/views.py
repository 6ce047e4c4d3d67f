from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from knox.views import LoginView as KnoxLoginView
from knox.views import LogoutView as KnoxLogoutView
from rest_framework import mixins, status, viewsets
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.accounts.serializers import (
    AuditEntrySerializer,
    DiallerIntegrationSerializer,
    IssuedCredentialSerializer,
    MeSerializer,
    TokenSerializer,
)
from campaigns.models import DiallerIntegration
from campaigns.selectors.scoping import floor_ids_for
from campaigns.services.diallers import (
    DiallerCredentialError,
    issue_dialler_credential,
    revoke_dialler_credential,
    rotate_dialler_credential,
)
from contacts.models import AuditEntry


@extend_schema_view(post=extend_schema(request=None, responses={200: TokenSerializer}))
class LoginView(KnoxLoginView):
    """Exchange a username and password (HTTP Basic) or a session for a token (hashed at rest)."""

    authentication_classes = [BasicAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]


@extend_schema_view(post=extend_schema(request=None, responses={204: None}))
class LogoutView(KnoxLogoutView):
    """Delete the token used for this request."""

    permission_classes = [IsAuthenticated]


class MeView(APIView):
    """Who the caller is, which roles it holds and which floors it may see."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        floors = floor_ids_for(request.user)
        data = {
            "username": request.user.get_username(),
            "roles": sorted(request.user.groups.values_list("name", flat=True)),
            "floors": "all" if floors is None else sorted(floors),
            "is_dialler": DiallerIntegration.objects.filter(user=request.user).exists(),
        }
        return Response(MeSerializer(data).data)


class DiallerIntegrationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Dialler credentials. Creating one returns its token once; only its hash is kept."""

    queryset = DiallerIntegration.objects.prefetch_related("floors").order_by("name")
    serializer_class = DiallerIntegrationSerializer
    required_permissions = {
        "revoke": ["campaigns.change_diallerintegration"],
        "rotate": ["campaigns.change_diallerintegration"],
    }
    filterset_fields = ["name"]
    ordering_fields = ["name", "created_at", "last_used_at"]

    @extend_schema(request=DiallerIntegrationSerializer, responses={201: IssuedCredentialSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            integration, token = issue_dialler_credential(
                name=serializer.validated_data["name"],
                description=serializer.validated_data.get("description", ""),
                floors=serializer.validated_data["floors"],
                actor=request.user,
                now=timezone.now(),
            )
        except DiallerCredentialError as exc:
            return Response({"name": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        data = IssuedCredentialSerializer(integration).data
        data["token"] = token
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: DiallerIntegrationSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        integration = self.get_object()
        revoke_dialler_credential(integration=integration, actor=request.user, now=timezone.now())
        integration.refresh_from_db()
        return Response(DiallerIntegrationSerializer(integration).data)

    @extend_schema(request=None, responses={200: IssuedCredentialSerializer})
    @action(detail=True, methods=["post"])
    def rotate(self, request, pk=None):
        integration = self.get_object()
        try:
            token = rotate_dialler_credential(integration=integration, actor=request.user, now=timezone.now())
        except DiallerCredentialError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        data = IssuedCredentialSerializer(integration).data
        data["token"] = token
        return Response(data)


class AuditEntryViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit trail, read-only."""

    queryset = AuditEntry.objects.all()
    serializer_class = AuditEntrySerializer
    filterset_fields = ["action", "actor_label", "target_type", "target_id"]
    ordering_fields = ["at"]
