"""Long jobs and the uploads waiting for them."""

from __future__ import annotations

import io
from typing import BinaryIO

from django.conf import settings
from django.db import models
from django.db.models import Q


class JobKind(models.TextChoices):
    IMPORT = "import", "Import"
    LLM_ANNOTATION = "llm_annotation", "LLM annotation"
    EXPORT = "export", "Export"
    ROUTING = "routing", "Routing"
    REPORT = "report", "Agreement and aggregate"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class JobRun(models.Model):
    """One long job (import, LLM annotation, export, ...): its state, progress and outcome.

    A worker claims the row QUEUED→RUNNING with a conditional UPDATE that writes a new
    ``claim_token``; the run's later writes match that token, so a redelivered message never
    runs the job twice at once and a worker that lost the job cannot overwrite it.
    ``attempts`` counts claims: every attempt before the current one lost its worker.
    """

    kind = models.CharField(max_length=32, choices=JobKind.choices)
    campaign = models.ForeignKey(
        "annotate.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    message = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    # Structured failure details a UI can list, e.g. import row errors.
    error_details = models.JSONField(default=list, blank=True)
    result = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The Celery task (and queue; blank = routed by task name) that runs the job, so that a job
    # whose worker was lost can be sent again.
    task_name = models.CharField(max_length=200, blank=True)
    queue = models.CharField(max_length=64, blank=True)
    # When the broker accepted the job's message; null while a QUEUED job's message was never
    # sent (the broker was down), so that the reaper sends it again.
    sent_at = models.DateTimeField(null=True, blank=True)
    # The claim that owns a RUNNING job: the worker process and the token its writes must match.
    owner_host = models.CharField(max_length=255, blank=True)
    owner_pid = models.PositiveIntegerField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["campaign", "kind", "status"]),
            # The reaper's scan: running jobs by heartbeat age.
            models.Index(
                fields=["heartbeat_at"],
                condition=Q(status="running"),
                name="jobrun_running_heartbeat",
            ),
            # The reaper's scan: queued jobs whose message never reached the broker.
            models.Index(
                fields=["created_at"],
                condition=Q(status="queued", sent_at__isnull=True),
                name="jobrun_queued_unsent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)

    @property
    def progress_percent(self) -> int | None:
        if not self.progress_total:
            return None
        return min(100, round(100 * self.progress_done / self.progress_total))


class ImportUpload(models.Model):
    """An uploaded file waiting for (or kept after) its import job.

    The file lives in the default storage (``MEDIA_ROOT``, under ``imports/``), so neither
    the web process nor the worker ever holds it whole in memory; a worker on another
    machine needs the same folder (in compose, the shared ``app-data`` volume). ``content``
    holds uploads stored before migration 0014, when files were kept in the database; they
    stay readable through :meth:`open_content`.
    """

    job = models.OneToOneField(JobRun, on_delete=models.CASCADE, related_name="upload")
    filename = models.CharField(max_length=255)
    file_format = models.CharField(max_length=32)
    file = models.FileField(upload_to="imports/%Y/%m/", max_length=300, blank=True)
    content = models.BinaryField(null=True, blank=True)  # uploads from before 0014 only
    size_bytes = models.PositiveBigIntegerField()

    def open_content(self) -> BinaryIO:
        """The upload as a seekable binary file, opened for reading (use it in ``with``)."""
        if self.file:
            self.file.open("rb")
            return self.file  # type: ignore[return-value]
        return io.BytesIO(bytes(self.content or b""))


class ExportFile(models.Model):
    """One file an export job wrote (a data file per split, and its dataset card), stored
    under ``settings.EXPORT_DIR`` at ``path``; downloaded by the campaign's researchers."""

    job = models.ForeignKey(JobRun, on_delete=models.CASCADE, related_name="export_files")
    campaign = models.ForeignKey("annotate.Campaign", on_delete=models.CASCADE, related_name="export_files")
    name = models.CharField(max_length=255)  # the file name a download gets
    path = models.CharField(max_length=500)  # relative to settings.EXPORT_DIR
    split = models.CharField(max_length=16, blank=True)  # "train" / "validation"; blank = all or card
    content_type = models.CharField(max_length=100)
    size_bytes = models.PositiveBigIntegerField()
    rows = models.PositiveIntegerField(null=True, blank=True)  # None for the dataset card
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job_id", "name"]
        constraints = [models.UniqueConstraint(fields=["job", "name"], name="exportfile_one_name_per_job")]

    def __str__(self) -> str:
        return self.name


class SchedulerHeartbeat(models.Model):
    """When a periodic scheduler (Celery beat, ``name="beat"``) last ticked, written by the
    scheduler itself, so that any process (``/healthz`` in the web container) can tell a live
    beat from a dead one without seeing beat's own file."""

    name = models.CharField(max_length=64, unique=True)
    ticked_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} ticked at {self.ticked_at:%Y-%m-%d %H:%M:%S}"
