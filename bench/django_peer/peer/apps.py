from django.apps import AppConfig


class PeerConfig(AppConfig):
    name = "peer"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from peer.models import Customer

        auditlog.register(Customer)
