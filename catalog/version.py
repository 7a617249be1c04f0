"""The catalog version: a counter in the shared cache that every committed catalog write
advances, so that what was computed from the catalog (catalog.search_cache) knows it is out
of date.

Every write to what a search reads or shows (songs, their artists and albums, the search
vocabulary) calls ``catalog_changed``: the catalog's models and querysets do it for the ORM
(``save``, ``delete``, ``QuerySet.update``, ``bulk_create``, ``bulk_update``: see
catalog.models.CatalogQuerySet), and the writers that use SQL (catalog.upsert,
catalog.vocabulary) call it themselves. The bump runs once the transaction commits: a reader
that saw the old version cannot have missed the write, and one that sees the new version
reads committed rows.

The counter starts from the clock (``new_version``), so after Redis lost it no entry written
before can match the new one. A bump that failed (Redis down) is retried by the same process
at its next look-up (``version_retry_pending``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction

from core.shared_state import CACHE_ERRORS, cache_failed, cache_recently_failed

VERSION_KEY = "catalog:version"

_pending = threading.Event()  # a bump this process could not make yet


def new_version() -> int:
    """A start for the counter: never a value an earlier counter could have held."""
    return time.time_ns()


def _bump() -> None:
    if cache_recently_failed():
        # Redis just failed (hung, refused): each write waiting a socket timeout for its bump
        # would slow an import by seconds a batch. Left to the next look-up or write.
        _pending.set()
        return
    try:
        try:
            cache.incr(VERSION_KEY)
        except ValueError:  # no counter yet (or Redis lost it): a new one
            cache.set(VERSION_KEY, new_version(), timeout=None)
        _pending.clear()
    except CACHE_ERRORS as exc:
        _pending.set()
        cache_failed("catalog version", exc)


def kept_searches() -> bool:
    """Whether searches are kept (``SEARCH_CACHE_SECONDS``), and so whether writes announce
    themselves."""
    return settings.SEARCH_CACHE_SECONDS > 0


def catalog_changed(*, using: str | None = None) -> None:
    """Mark whatever was computed from the catalog out of date once the current transaction
    (of ``using``) commits, at once outside one. Cheap, and safe to call many times."""
    if kept_searches():
        transaction.on_commit(_bump, using=using)


def catalog_migrated(*, using: str | None = None, **_signal: Any) -> None:
    """After ``migrate`` (a deploy): whatever was kept is out of date."""
    catalog_changed(using=using)


def version_retry_pending() -> None:
    """Make the bump this process could not make (call before reading the version)."""
    if _pending.is_set():
        _bump()


def read_with_version(keys: list[str]) -> tuple[int, dict[str, Any]]:
    """The current version and the entries of ``keys`` found, in one round trip (a version is
    started when there is none). Raises the cache's errors (``CACHE_ERRORS``)."""
    version_retry_pending()
    found = cache.get_many([VERSION_KEY, *keys])
    version = found.pop(VERSION_KEY, None)
    if version is None:
        version = new_version()
        if not cache.add(VERSION_KEY, version, timeout=None):
            version = cache.get(VERSION_KEY)
    return version, found


class CatalogQuerySet(models.QuerySet):
    """The ORM's bulk writes of a catalog model, each followed by ``catalog_changed``.

    The bump is asked for *after* the write: outside a transaction ``on_commit`` runs at once,
    and a bump made before the write committed would let a search read the new version and
    the old rows, and keep them under the new version (a stale entry served until the next
    write). A write that raised wrote nothing to announce."""

    def update(self, **kwargs: Any) -> int:
        rows = super().update(**kwargs)
        catalog_changed(using=self.db)
        return rows

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        rows = super().bulk_update(objs, fields, batch_size=batch_size)
        catalog_changed(using=self.db)
        return rows

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list:
        created = super().bulk_create(objs, *args, **kwargs)
        catalog_changed(using=self.db)
        return created

    def delete(self) -> tuple[int, dict[str, int]]:
        db = self.db
        deleted = super().delete()
        catalog_changed(using=db)
        return deleted


class CatalogModel(models.Model):
    """A model whose rows a search reads or shows: every save and delete (and, through
    CatalogQuerySet, every bulk write) advances the catalog version."""

    objects = CatalogQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)  # then the bump: see CatalogQuerySet
        catalog_changed(using=self._state.db)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        using = kwargs.get("using") or self._state.db
        deleted = super().delete(*args, **kwargs)
        catalog_changed(using=using)
        return deleted
