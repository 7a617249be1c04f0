"""Staff-only REST endpoints for sync jobs: list, start, show, cancel, retry."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.decorators import action
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from core.pagination import StrictLimitOffsetPagination
from core.schema import error_response
from core.serializers import enum_schema, int_schema
from sync.exceptions import JobNotCancellable, JobNotRetryable
from sync.models import JobStatus, JobTrigger
from sync.selectors import job_detail_queryset, job_list
from sync.serializers import (
    SyncJobCreateInputSerializer,
    SyncJobDetailSerializer,
    SyncJobFilterSerializer,
    SyncJobRequestSerializer,
    SyncJobSerializer,
)
from sync.services.jobs import JobRequest, job_cancel, job_create, job_retry

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class SyncJobPagination(StrictLimitOffsetPagination):
    default_limit = 50
    max_limit = 200


def _staff_user(request: Request) -> User:
    """The caller: ``IsAdminUser`` lets only signed-in staff reach these actions."""
    return cast("User", request.user)


def _request_response(request: JobRequest) -> Response:
    """201 for a new job, 200 for the active one returned; ``enqueued: false`` with the error
    ``not_enqueued`` when the broker did not take its message (the reaper resends it)."""
    request.job.refresh_from_db()  # the enqueue (on commit) may have flagged it
    data = SyncJobRequestSerializer(
        request.job, context={"already_active": request.already_active}
    ).data
    return Response(data, status=status.HTTP_201_CREATED if request.created else status.HTTP_200_OK)


@extend_schema(tags=["sync jobs"])
class SyncJobViewSet(viewsets.ViewSet):
    """Background jobs, for staff. A second start of an active kind+target returns that job."""

    # Token first: an anonymous caller gets 401 with a WWW-Authenticate challenge, not 403.
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAdminUser]
    lookup_value_regex = r"\d+"
    pagination_class = SyncJobPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", str, description="Only jobs of this kind (any name)."),
            OpenApiParameter(
                "status", enum_schema(JobStatus.values), description="Only jobs in this status."
            ),
            OpenApiParameter("limit", int_schema(1, SyncJobPagination.max_limit)),
            OpenApiParameter("offset", int_schema(0)),
        ],
        responses=SyncJobSerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        filters = SyncJobFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(job_list(**filters.validated_data), request, view=self)
        return paginator.get_paginated_response(SyncJobSerializer(page, many=True).data)

    @extend_schema(
        request=SyncJobCreateInputSerializer,
        responses={201: SyncJobRequestSerializer, 200: SyncJobRequestSerializer},
    )
    def create(self, request: Request) -> Response:
        data = SyncJobCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = job_create(
            kind=data.validated_data["kind"],
            params=data.validated_data["params"],
            trigger=JobTrigger.API,
            triggered_by=_staff_user(request),
            target_user=data.validated_data["target_user"],
        )
        return _request_response(result)

    @extend_schema(responses=SyncJobDetailSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        job = get_object_or_404(job_detail_queryset(), pk=pk)
        return Response(SyncJobDetailSerializer(job).data)

    @extend_schema(
        request=None,
        responses={
            200: SyncJobDetailSerializer,
            409: error_response(JobNotCancellable.default_message),
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        job = job_cancel(job=get_object_or_404(job_list(), pk=pk))
        return Response(SyncJobDetailSerializer(job).data)

    @extend_schema(
        request=None,
        responses={
            201: SyncJobRequestSerializer,
            200: SyncJobRequestSerializer,
            409: error_response(JobNotRetryable.default_message),
        },
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        job = get_object_or_404(job_list(), pk=pk)
        return _request_response(
            job_retry(job=job, trigger=JobTrigger.API, triggered_by=_staff_user(request))
        )
