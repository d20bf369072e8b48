"""Register and update a customer: DRF's generic views, the actor set for auditlog
(the request's transaction, ATOMIC_REQUESTS, holds the change and its LogEntry)."""

from auditlog.context import set_actor
from django.http import HttpResponse
from rest_framework import generics

from peer.models import Customer
from peer.serializers import CustomerSerializer


class CustomerCreate(generics.CreateAPIView):
    serializer_class = CustomerSerializer

    def perform_create(self, serializer):  # type: ignore[no-untyped-def]
        with set_actor(self.request.user, remote_addr=self.request.META.get("REMOTE_ADDR")):
            serializer.save(updated_by=self.request.user)


class CustomerUpdate(generics.UpdateAPIView):
    queryset = Customer.objects.all()
    serializer_class = CustomerSerializer

    def perform_update(self, serializer):  # type: ignore[no-untyped-def]
        with set_actor(self.request.user, remote_addr=self.request.META.get("REMOTE_ADDR")):
            serializer.save(updated_by=self.request.user)


def health(request):  # type: ignore[no-untyped-def]
    return HttpResponse(b"ok", content_type="text/plain")
