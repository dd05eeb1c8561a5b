"""Site-admin screens: the place to create campaigns and give people roles until the PM tools land."""

from __future__ import annotations

from django.contrib import admin

from annotate.models import (
    Annotation,
    AnswerValue,
    Assignment,
    Campaign,
    CampaignMembership,
    Instance,
    JobRun,
    Question,
    QuestionOption,
    QueueItem,
    Response,
)


class MembershipInline(admin.TabularInline):
    model = CampaignMembership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "status", "overlap", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


class ResponseInline(admin.TabularInline):
    model = Response
    extra = 0


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    list_display = ["external_id", "campaign", "created_at"]
    list_filter = ["campaign"]
    search_fields = ["external_id"]
    inlines = [ResponseInline]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["instance", "annotator", "status", "leased_at", "lease_expires_at", "skip_reason"]
    list_filter = ["status", "campaign", "skip_reason"]
    raw_id_fields = ["instance", "queue_item"]


class AnswerInline(admin.TabularInline):
    model = AnswerValue
    extra = 0
    raw_id_fields = ["question", "option"]


class QuestionOptionInline(admin.TabularInline):
    model = QuestionOption
    extra = 0


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["key", "schema", "kind", "target", "required", "order"]
    list_filter = ["kind"]
    inlines = [QuestionOptionInline]


@admin.register(QueueItem)
class QueueItemAdmin(admin.ModelAdmin):
    list_display = ["instance", "campaign", "kind", "route", "slots_taken", "required_overlap", "priority"]
    list_filter = ["campaign", "kind", "route"]
    raw_id_fields = ["instance"]


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["instance", "source", "annotator", "model_name", "overall_preference", "created_at"]
    list_filter = ["source", "campaign"]
    raw_id_fields = ["instance", "assignment", "job"]
    inlines = [AnswerInline]


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "campaign", "status", "attempts", "progress_done", "progress_total", "created_at"]
    list_filter = ["kind", "status"]
    readonly_fields = [
        "created_at", "started_at", "finished_at", "heartbeat_at", "owner_host", "owner_pid", "claim_token",
    ]
