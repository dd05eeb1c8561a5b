"""REST API (DRF): one view per operation, calling the same services as the pages."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate.importers import IMPORT_FORMATS
from annotate.models import CampaignRole, JobRun
from annotate.permissions import get_campaign_for_role_or_404, get_job_for_user_or_404
from annotate.services.imports import ImportRejected, ImportTooLarge, import_or_enqueue

PM = {CampaignRole.PROJECT_MANAGER.value}


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField()
    format = serializers.ChoiceField(choices=sorted(IMPORT_FORMATS))


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobRun
        fields = [
            "id", "kind", "status", "progress_done", "progress_total", "message", "error",
            "error_details", "result", "attempts", "created_at", "started_at", "finished_at",
        ]


class CampaignImportView(APIView):
    """POST a file: 201 with the count when imported inline, 202 with a job when queued,
    400 with every row error (line, field, message) when the file is rejected."""

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
                data=upload.read(),
                file_format=payload.validated_data["format"],
            )
        except ImportTooLarge:
            return Response(
                {"detail": f"The file is larger than {settings.IMPORT_MAX_BYTES} bytes."},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        except ImportRejected as exc:
            return Response(
                {
                    "detail": f"{exc.total_errors} row error(s); nothing was imported.",
                    "total_errors": exc.total_errors,
                    "errors": [error.as_dict() for error in exc.errors],
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        if outcome.job is not None:
            return Response(JobSerializer(outcome.job).data, status=status.HTTP_202_ACCEPTED)
        summary = outcome.summary
        return Response({**summary.as_result(), "format": summary.format}, status=201)


class JobDetailView(APIView):
    def get(self, request, job_id: int):
        job = get_job_for_user_or_404(user=request.user, pk=job_id)
        return Response(JobSerializer(job).data)
