from django.urls import path

from peer import views

urlpatterns = [
    path("health", views.health),
    path("v2/customers", views.CustomerCreate.as_view()),
    path("v2/customers/<int:pk>", views.CustomerUpdate.as_view()),
]
