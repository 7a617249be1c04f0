from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = "Sync jobs"

    def ready(self) -> None:
        from sync import checks  # noqa: F401  (registers the system checks)
        from sync.kinds import BUILTIN_KINDS
        from sync.registry import register

        # The kinds are registered here, once every app is loaded (a kind may call any app's
        # services), and never lazily by the registry.
        for kind in BUILTIN_KINDS:
            register(kind)
