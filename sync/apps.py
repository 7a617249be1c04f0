from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = "Sync jobs"

    def ready(self) -> None:
        from spotify_integration.signals import spotify_pause_lifted
        from sync import checks  # noqa: F401  (registers the system checks)
        from sync.kinds import BUILTIN_KINDS
        from sync.receivers import on_spotify_pause_lifted
        from sync.registry import register

        # The kinds are registered here, once every app is loaded (a kind may call any app's
        # services), and never lazily by the registry.
        for kind in BUILTIN_KINDS:
            register(kind)
        spotify_pause_lifted.connect(on_spotify_pause_lifted, dispatch_uid="sync-resume-paused")
