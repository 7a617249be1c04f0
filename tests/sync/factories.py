"""factory_boy factories for the job framework's rows."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model

from sync.models import JobTrigger, SyncJob, SyncJobAttempt, target_key_for


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-user-1")

    class Params:
        staff = factory.Trait(is_staff=True)


class SyncJobFactory(factory.django.DjangoModelFactory):
    """A job row written directly, as the framework would have left it (no validation).

    ``target_key`` follows ``target_user`` as ``job_create`` sets it, unless given.
    """

    class Meta:
        model = SyncJob

    kind = "probe"
    trigger = JobTrigger.API

    @factory.lazy_attribute
    def target_key(self) -> str:
        return target_key_for(self.target_user.pk if self.target_user is not None else None)

    target_user: Any = None


class SyncJobAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncJobAttempt

    job = factory.SubFactory(SyncJobFactory)
    number = factory.Sequence(lambda n: n + 1)
