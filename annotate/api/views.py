"""One view per operation. Each resolves its objects through ``annotate.permissions`` (not a
member → 404, the wrong role → 403, as on the pages), reads through selectors and writes
through one service."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate.api.errors import Rejected
from annotate.api.serializers import (
    AnnotationFilterSerializer,
    AnnotationSerializer,
    AssignmentSerializer,
    CampaignConfigureSerializer,
    CampaignCreateSerializer,
    CampaignSerializer,
    ExportJobSerializer,
    ExportRequestSerializer,
    ImportRequestSerializer,
    ImportResultSerializer,
    InstanceFilterSerializer,
    InstanceSerializer,
    JobSerializer,
    SubmissionResultSerializer,
    SubmissionSerializer,
)
from annotate.exports import EXPORTERS
from annotate.models import Assignment, CampaignRole
from annotate.permissions import (
    get_assignment_for_annotator_or_404,
    get_campaign_for_role_or_404,
    get_job_for_user_or_404,
)
from annotate.selectors import (
    annotations_of,
    campaigns_visible_to,
    export_file_of_campaign,
    in_display_order,
    instances_of,
    recent_exports,
    responses_by_position,
)
from annotate.services.annotations import SubmissionRejected, submit_annotation
from annotate.services.answers import AnswerInput
from annotate.services.assignments import claim_next_assignment, mark_opened
from annotate.services.campaigns import configure_campaign, create_campaign
from annotate.services.exports import ExportRejected, start_export_job
from annotate.services.imports import ImportRejected, ImportTooLarge, import_or_enqueue
from annotate.services.task_schemas import schema_for_assignment

PM = {CampaignRole.PROJECT_MANAGER.value}
ANNOTATOR = {CampaignRole.ANNOTATOR.value}
READERS = {CampaignRole.PROJECT_MANAGER.value, CampaignRole.RESEARCHER.value}
RESEARCHER = {CampaignRole.RESEARCHER.value}
ANY_ROLE = {role.value for role in CampaignRole}


class CampaignListView(GenericAPIView):
    """The campaigns the caller may see (site admins: all); creating one needs the
    ``annotate.add_campaign`` permission (site admins have it), as in the admin."""

    serializer_class = CampaignSerializer

    def get_queryset(self):
        return campaigns_visible_to(self.request.user).order_by("slug")

    @extend_schema(responses=CampaignSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(CampaignSerializer(page, many=True).data)

    @extend_schema(request=CampaignCreateSerializer, responses={201: CampaignSerializer})
    def post(self, request):
        if not request.user.has_perm("annotate.add_campaign"):
            raise PermissionDenied("You may not create campaigns.")
        payload = CampaignCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        campaign = create_campaign(created_by=request.user, **payload.validated_data)
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)


class CampaignDetailView(APIView):
    """Any role in the campaign reads it; its project managers configure it."""

    @extend_schema(responses=CampaignSerializer)
    def get(self, request, slug: str):
        campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=ANY_ROLE)
        return Response(CampaignSerializer(campaign).data)

    @extend_schema(request=CampaignConfigureSerializer, responses=CampaignSerializer)
    def patch(self, request, slug: str):
        campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
        payload = CampaignConfigureSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        campaign = configure_campaign(campaign=campaign, **payload.validated_data)
        return Response(CampaignSerializer(campaign).data)


class InstanceListView(GenericAPIView):
    """The campaign's instances (project managers and researchers), filtered by ``route``
    and ``status`` (``open``: a slot is free; ``full``)."""

    serializer_class = InstanceSerializer

    @extend_schema(parameters=[InstanceFilterSerializer], responses=InstanceSerializer(many=True))
    def get(self, request, slug: str):
        campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=READERS)
        filters = InstanceFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        instances = instances_of(
            campaign=campaign,
            route=filters.validated_data.get("route"),
            state=filters.validated_data.get("status"),
        )
        page = self.paginate_queryset(instances)
        return self.get_paginated_response(InstanceSerializer(page, many=True).data)


class CampaignImportView(APIView):
    """POST a file: 201 with the count when imported inline, 202 with a job when queued,
    400 with every row error (``details``: line, field, message) when the file is rejected,
    nothing imported."""

    @extend_schema(
        request={"multipart/form-data": ImportRequestSerializer},
        responses={201: ImportResultSerializer, 202: JobSerializer},
    )
    def post(self, request, slug: str):
        campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
        payload = ImportRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        upload = payload.validated_data["file"]
        try:
            outcome = import_or_enqueue(
                campaign=campaign,
                created_by=request.user,
                filename=upload.name,
                file=upload,
                file_format=payload.validated_data["format"],
            )
        except ImportTooLarge as exc:
            raise Rejected(
                code="too_large",
                message=f"The file is larger than {settings.IMPORT_MAX_BYTES} bytes.",
                details=[error.as_dict() for error in exc.errors],
                status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            ) from exc
        except ImportRejected as exc:
            raise Rejected(
                code="import_rejected",
                message=f"{exc.total_errors} row error(s); nothing was imported.",
                details=[error.as_dict() for error in exc.errors],
            ) from exc
        if outcome.job is not None:
            return Response(JobSerializer(outcome.job).data, status=status.HTTP_202_ACCEPTED)
        summary = outcome.summary
        return Response({**summary.as_result(), "format": summary.format}, status=status.HTTP_201_CREATED)


def _assignment_body(*, campaign, assignment: Assignment) -> dict:
    responses = responses_by_position(instance_id=assignment.instance_id)
    mark_opened(assignment=assignment, positions=sorted(responses))  # decides the display order once
    shown = in_display_order(assignment=assignment, responses=responses)
    schema = schema_for_assignment(campaign=campaign, assignment=assignment)
    return AssignmentSerializer(
        {
            "id": assignment.pk,
            "status": assignment.status,
            "item_id": assignment.instance_id,
            "messages": assignment.instance.messages,
            "responses": [{"slot": i, "letter": r.letter, "text": r.text} for i, r in enumerate(shown)],
            "questions": schema.questions,
            "lease_expires_at": assignment.lease_expires_at,
        }
    ).data


class ClaimView(APIView):
    """Lease the caller (an annotator of the campaign) the next item, or return their open
    lease: 200 with the item, 204 when nothing is left. Idempotent; race-free as on the page."""

    @extend_schema(request=None, responses={200: AssignmentSerializer, 204: OpenApiResponse(description="Nothing left.")})
    def post(self, request, slug: str):
        campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=ANNOTATOR)
        assignment = claim_next_assignment(campaign=campaign, annotator=request.user)
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(_assignment_body(campaign=campaign, assignment=assignment))


class SubmitView(APIView):
    """Answer the caller's assignment (answers by display slot, as returned by the claim):
    201 when counted, 200 for a repeat (counted once; ``changed`` if its answers replaced
    the earlier ones), 409 when the item is no longer the caller's or the answers break the
    schema, with the reason."""

    @extend_schema(request=SubmissionSerializer, responses={200: SubmissionResultSerializer, 201: SubmissionResultSerializer})
    def post(self, request, slug: str, assignment_id: int):
        campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=ANNOTATOR)
        assignment = get_assignment_for_annotator_or_404(user=request.user, pk=assignment_id, campaign=campaign)
        if assignment.campaign_id != campaign.pk:
            raise Rejected(code="not_found", message="No such assignment.", status_code=status.HTTP_404_NOT_FOUND)
        payload = SubmissionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        answers = [
            AnswerInput(question=a["question"], slot=a["slot"], codes=tuple(a["codes"]), text=a["text"])
            for a in payload.validated_data["answers"]
        ]
        try:
            outcome = submit_annotation(
                assignment_id=assignment.pk,
                annotator=request.user,
                answers=answers,
                time_spent_seconds=payload.validated_data["time_spent_seconds"],
                campaign=campaign,
            )
        except SubmissionRejected as exc:
            raise Rejected(code="submission_rejected", message=str(exc), status_code=status.HTTP_409_CONFLICT) from exc
        body = {"annotation": outcome.annotation.pk, "created": outcome.created, "changed": outcome.changed}
        return Response(body, status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK)


class AnnotationListView(GenericAPIView):
    """The campaign's labels with provenance (project managers and researchers), filtered
    by ``source`` (human, imported, llm), ``pool``, ``model_name``, ``instance`` (external id)
    and ``changed_since`` (created or revised since; for incremental sync)."""

    serializer_class = AnnotationSerializer

    @extend_schema(parameters=[AnnotationFilterSerializer], responses=AnnotationSerializer(many=True))
    def get(self, request, slug: str):
        campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=READERS)
        filters = AnnotationFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        page = self.paginate_queryset(
            annotations_of(
                campaign=campaign,
                source=wanted.get("source"),
                pool=wanted.get("pool"),
                model_name=wanted.get("model_name"),
                instance_external_id=wanted.get("instance"),
                changed_since=wanted.get("changed_since"),
            )
        )
        return self.get_paginated_response(AnnotationSerializer(page, many=True).data)


class JobDetailView(APIView):
    """A job (its campaign's project managers and whoever started it); poll until its
    status is ``succeeded`` or ``failed``."""

    @extend_schema(responses=JobSerializer)
    def get(self, request, job_id: int):
        job = get_job_for_user_or_404(user=request.user, pk=job_id)
        return Response(JobSerializer(job).data)




class ExportListView(APIView):
    """The campaign's exports (its researchers and site admins, as on the export page): list
    the jobs with their files, or start one (202 with the job to poll at ``/api/jobs/<id>/``)."""

    @extend_schema(responses=ExportJobSerializer(many=True))
    def get(self, request, slug: str):
        campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=RESEARCHER)
        jobs = recent_exports(campaign=campaign, limit=50)
        return Response(
            {
                "formats": {name: exporter.title for name, exporter in EXPORTERS.items()},
                "results": ExportJobSerializer(jobs, many=True).data,
            }
        )

    @extend_schema(request=ExportRequestSerializer, responses={202: ExportJobSerializer})
    def post(self, request, slug: str):
        campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=RESEARCHER)
        serializer = ExportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        options = dict(serializer.validated_data)
        format_name = options.pop("format")
        try:
            job = start_export_job(
                campaign=campaign, created_by=request.user, format_name=format_name, options=options
            )
        except ExportRejected as exc:
            raise Rejected(message=str(exc), code="export_rejected") from None
        return Response(ExportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ExportFileView(APIView):
    """Download one stored export file or dataset card (the campaign's researchers)."""

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(description="the file")})
    def get(self, request, slug: str, file_id: int):
        from pathlib import Path

        from django.http import FileResponse, Http404

        campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=RESEARCHER)
        stored = export_file_of_campaign(campaign=campaign, file_id=file_id)
        if stored is None:
            raise Http404("No such export file.")
        path = Path(settings.EXPORT_DIR) / stored.path
        if not path.is_file():
            raise Http404("The export file is gone from storage.")
        return FileResponse(
            path.open("rb"), as_attachment=True, filename=stored.name, content_type=stored.content_type
        )
