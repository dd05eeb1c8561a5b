from __future__ import annotations

from django.urls import path

from routing import views

urlpatterns = [
    path("campaigns/<slug:slug>/routing/", views.campaign_routing, name="campaign_routing"),
]
