"""Routing runs over the REST API: start one (a job to poll at ``/api/jobs/<id>/``), list a
campaign's runs, read one run and its decisions. Project managers only, as on the page."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate.api.errors import Rejected
from annotate.api.serializers import JobSerializer
from annotate.models import CampaignRole
from annotate.permissions import get_campaign_for_role_or_404
from routing.campaign_routing import RoutingRefused, start_routing_job
from routing.models import Route, RoutingDecision, RoutingRun, RoutingStrategy

PM = {CampaignRole.PROJECT_MANAGER.value}


class StartRoutingSerializer(serializers.Serializer):
    budget = serializers.IntegerField(min_value=0, help_text="Instances humans label in all.")
    strategy = serializers.ChoiceField(choices=RoutingStrategy.choices, default=RoutingStrategy.ERROR_MODEL)
    annotators = serializers.ListField(
        child=serializers.CharField(), allow_empty=False, help_text="The main judge first, then the jury."
    )
    seed_size = serializers.IntegerField(
        min_value=0,
        required=False,
        allow_null=True,
        help_text="Instances of the budget drawn at random for humans first (the judges' weights are "
        "measured on them); default min(20, budget // 2). A re-route keeps the seed.",
    )


class RoutingRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = RoutingRun
        fields = [
            "id", "job", "created_at", "supersedes", "strategy", "budget", "main_annotator", "jury",
            "n_instances", "n_human", "n_llm", "human_labels_read", "curve", "by_tag",
            "judge_agreement", "feature_version",
        ]


class RoutingRunDetailSerializer(RoutingRunSerializer):
    class Meta(RoutingRunSerializer.Meta):
        fields = [*RoutingRunSerializer.Meta.fields, "model_details", "annotator_identities"]


class RoutingDecisionSerializer(serializers.ModelSerializer):
    instance = serializers.CharField(source="instance.external_id")

    class Meta:
        model = RoutingDecision
        fields = [
            "instance", "route", "rank", "expected_gain", "p_llm_wrong", "p_human_decisive",
            "already_human", "top_signals",
        ]


class DecisionFilterSerializer(serializers.Serializer):
    route = serializers.ChoiceField(choices=Route.choices, required=False)


class RoutingRunListView(GenericAPIView):
    serializer_class = RoutingRunSerializer

    @extend_schema(responses=RoutingRunSerializer(many=True))
    def get(self, request, slug: str):
        campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
        page = self.paginate_queryset(campaign.routing_runs.order_by("-id"))
        return self.get_paginated_response(RoutingRunSerializer(page, many=True).data)

    @extend_schema(request=StartRoutingSerializer, responses={202: JobSerializer})
    def post(self, request, slug: str):
        """Start a routing run: 202 with its job; 400 with the reason when refused (an
        unknown annotator, a budget out of range, a run still going)."""
        campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
        payload = StartRoutingSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            job = start_routing_job(campaign=campaign, created_by=request.user, **payload.validated_data)
        except RoutingRefused as exc:
            raise Rejected(code="routing_refused", message=str(exc)) from exc
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


def _run_or_404(*, user, slug: str, run_id: int) -> RoutingRun:
    campaign = get_campaign_for_role_or_404(user=user, slug=slug, roles=PM)
    run = campaign.routing_runs.filter(pk=run_id).first()
    if run is None:
        raise Http404("No such routing run.")
    return run


class RoutingRunDetailView(APIView):
    @extend_schema(responses=RoutingRunDetailSerializer)
    def get(self, request, slug: str, run_id: int):
        return Response(RoutingRunDetailSerializer(_run_or_404(user=request.user, slug=slug, run_id=run_id)).data)


class RoutingDecisionListView(GenericAPIView):
    """A run's decisions by rank (1 = the most valuable item for a human), filtered by route."""

    serializer_class = RoutingDecisionSerializer

    @extend_schema(parameters=[DecisionFilterSerializer], responses=RoutingDecisionSerializer(many=True))
    def get(self, request, slug: str, run_id: int):
        run = _run_or_404(user=request.user, slug=slug, run_id=run_id)
        filters = DecisionFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        decisions = run.decisions.select_related("instance").order_by("rank", "id")
        if filters.validated_data.get("route"):
            decisions = decisions.filter(route=filters.validated_data["route"])
        page = self.paginate_queryset(decisions)
        return self.get_paginated_response(RoutingDecisionSerializer(page, many=True).data)
