from rest_framework import serializers

from peer.models import Customer


class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = (
            "id",
            "mobile",
            "email",
            "external_id",
            "first_name",
            "last_name",
            "status",
            "source",
            "updated_at",
        )
        read_only_fields = ("id", "updated_at")

    def validate(self, attrs):  # type: ignore[no-untyped-def]
        if self.instance is None and not (
            attrs.get("mobile") or attrs.get("email") or attrs.get("external_id")
        ):
            raise serializers.ValidationError("a customer needs an identifier")
        return attrs
