"""``manage.py seed --customers N --user CODE --password SECRET``: the bench's user
and N customers (mobiles 9100000001...), written without log entries."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from peer.models import Customer


class Command(BaseCommand):
    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--customers", type=int, default=1000)
        parser.add_argument("--user", required=True)
        parser.add_argument("--password", required=True)

    def handle(self, *args, customers, user, password, **options):  # type: ignore[no-untyped-def]
        get_user_model().objects.create_user(username=user, password=password)
        Customer.objects.bulk_create(
            Customer(mobile=f"91{n:010d}", first_name="First", last_name=f"Last{n}")
            for n in range(1, customers + 1)
        )
