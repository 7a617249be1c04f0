from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from catalog.version import catalog_migrated

        # A deploy runs `migrate`: what was kept before it (songs as the API then showed them,
        # models pickled by the code then) is out of date at once, not SEARCH_CACHE_SECONDS later.
        post_migrate.connect(catalog_migrated, sender=self, dispatch_uid="catalog-migrated")
