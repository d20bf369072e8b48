"""A customer: its identifiers (mobile, email, external id), names and status."""

from django.db import models


class Customer(models.Model):
    mobile = models.CharField(max_length=20, unique=True, null=True, blank=True)
    email = models.CharField(max_length=255, unique=True, null=True, blank=True)
    external_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    first_name = models.CharField(max_length=100, blank=True, default="")
    last_name = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(max_length=40, default="ACTIVE")
    source = models.CharField(max_length=40, default="INSTORE")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
