"""API input and output shapes for sync jobs. No business rules here: see ``sync/services/``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from core.serializers import QueryParamsSerializer
from sync.models import ATTEMPT_FIELDS, JobStatus, SyncJob, SyncJobAttempt
from sync.registry import all_kinds
from sync.selectors import job_progress
from sync.services.jobs import job_is_unsent

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class JobKindField(serializers.CharField):
    """A job kind's name; any text is read (an unknown kind is the 400 ``unknown_kind``), and
    the schema lists the kinds registered when it is generated (JobKindFieldExtension)."""


class JobKindFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "sync.serializers.JobKindField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {"type": "string", "enum": sorted(kind.name for kind in all_kinds())}


class SyncJobCreateInputSerializer(serializers.Serializer):
    kind = JobKindField(max_length=64)
    params = serializers.JSONField(required=False, default=dict)
    target_user = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(), required=False, allow_null=True, default=None
    )


class SyncJobFilterSerializer(QueryParamsSerializer):
    kind = serializers.CharField(max_length=64, required=False)
    status = serializers.ChoiceField(choices=JobStatus.choices, required=False)


class SyncJobAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = SyncJobAttempt
        fields = list(ATTEMPT_FIELDS)
        read_only_fields = fields


class SyncJobSerializer(serializers.ModelSerializer):
    triggered_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    progress = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    cancel_requested = serializers.SerializerMethodField()
    duration_seconds = serializers.SerializerMethodField()
    enqueued = serializers.SerializerMethodField(
        help_text="False while the broker has not taken the job's message (error not_enqueued)"
    )

    class Meta:
        model = SyncJob
        fields = [
            "id",
            "kind",
            "status",
            "trigger",
            "triggered_by",
            "target_user",
            "params",
            "progress",
            "attempts",
            "spotify_calls",
            "created_at",
            "started_at",
            "finished_at",
            "heartbeat_at",
            "next_attempt_at",
            "duration_seconds",
            "cancel_requested",
            "enqueued",
            "error",
            "celery_task_id",
            "retry_of",
        ]
        read_only_fields = fields

    def get_progress(self, job: SyncJob) -> dict[str, Any]:
        snapshot = job_progress(job)
        return {key: snapshot[key] for key in ("total", "done", "failed", "percent")}

    def get_error(self, job: SyncJob) -> dict[str, str] | None:
        if not job.error_code:
            return None
        return {"code": job.error_code, "message": job.error_message}

    def get_enqueued(self, job: SyncJob) -> bool:
        return not job_is_unsent(job)

    def get_cancel_requested(self, job: SyncJob) -> bool:
        return job.cancel_requested_at is not None

    def get_duration_seconds(self, job: SyncJob) -> float | None:
        duration = job.duration
        return round(duration.total_seconds(), 3) if duration else None


class SyncJobDetailSerializer(SyncJobSerializer):
    result = serializers.JSONField(read_only=True)
    attempt_records = SyncJobAttemptSerializer(many=True, read_only=True)
    retries: serializers.PrimaryKeyRelatedField[SyncJob] = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True
    )

    class Meta(SyncJobSerializer.Meta):
        fields = [*SyncJobSerializer.Meta.fields, "result", "attempt_records", "retries"]
        read_only_fields = fields


class SyncJobRequestSerializer(SyncJobDetailSerializer):
    """A job returned by "start" or "retry": ``already_active`` says it was not created now."""

    already_active = serializers.SerializerMethodField()

    class Meta(SyncJobDetailSerializer.Meta):
        fields = [*SyncJobDetailSerializer.Meta.fields, "already_active"]
        read_only_fields = fields

    def get_already_active(self, job: SyncJob) -> bool:
        return bool(self.context.get("already_active", False))
