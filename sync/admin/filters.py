"""The job list's filters: by kind, and the questions an operator opens the console with."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from sync.models import JobStatus, SyncJob
from sync.registry import all_kinds
from sync.selectors import jobs_active, jobs_slower_than

SLOW = timedelta(minutes=1)


class KindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(kind.name, kind.label) for kind in all_kinds()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> QuerySet[SyncJob]:
        return queryset.filter(kind=self.value()) if self.value() else queryset


class AttentionFilter(admin.SimpleListFilter):
    """The questions an operator opens the console with."""

    title = "show"
    parameter_name = "show"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("failed", "Failed"), ("slow", "Slower than 1 min"), ("active", "Active now")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> QuerySet[SyncJob]:
        match self.value():
            case "failed":
                return queryset.filter(status=JobStatus.FAILED)
            case "slow":
                return jobs_slower_than(queryset, SLOW)
            case "active":
                return jobs_active(queryset)
        return queryset
