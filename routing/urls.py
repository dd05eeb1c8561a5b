from __future__ import annotations

from django.urls import path

from routing import api, views

urlpatterns = [
    path("campaigns/<slug:slug>/routing/", views.campaign_routing, name="campaign_routing"),
    path(
        "api/campaigns/<slug:slug>/routing/runs/",
        api.RoutingRunListView.as_view(),
        name="api_routing_runs",
    ),
    path(
        "api/campaigns/<slug:slug>/routing/runs/<int:run_id>/",
        api.RoutingRunDetailView.as_view(),
        name="api_routing_run",
    ),
    path(
        "api/campaigns/<slug:slug>/routing/runs/<int:run_id>/decisions/",
        api.RoutingDecisionListView.as_view(),
        name="api_routing_decisions",
    ),
]
