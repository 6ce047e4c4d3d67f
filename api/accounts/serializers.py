from rest_framework import serializers

from campaigns.models import DiallerIntegration, Floor
from contacts.models import AuditEntry


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    expiry = serializers.DateTimeField(allow_null=True)


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    floors = serializers.JSONField(read_only=True, help_text='Floor ids the caller may see, or "all".')
    is_dialler = serializers.BooleanField()


class DiallerIntegrationSerializer(serializers.ModelSerializer):
    floors = serializers.SlugRelatedField(slug_field="code", many=True, queryset=Floor.objects.all())
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = DiallerIntegration
        fields = [
            "id",
            "name",
            "description",
            "floors",
            "created_at",
            "last_used_at",
            "revoked_at",
            "is_active",
        ]
        read_only_fields = ["created_at", "last_used_at", "revoked_at"]


class IssuedCredentialSerializer(DiallerIntegrationSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; only its hash is stored.")

    class Meta(DiallerIntegrationSerializer.Meta):
        fields = [*DiallerIntegrationSerializer.Meta.fields, "token"]


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = ["id", "at", "actor_label", "action", "target_type", "target_id", "target_repr", "details"]
        read_only_fields = fields  # answers only: the trail is written by the services
