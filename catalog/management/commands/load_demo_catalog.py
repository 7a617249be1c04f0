import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog.demo import DEFAULT_SEED, demo_records
from catalog.models import Song
from catalog.services import song_records_upsert


class Command(BaseCommand):
    help = (
        "Load the demo catalog: a few hundred real, well-known songs plus a seeded synthetic "
        "catalog. Only into an empty catalog (`make run` runs it every time and must not undo "
        "your edits); --force loads it over the songs there."
    )

    def add_arguments(self, parser):
        parser.add_argument("--size", type=int, default=20_000, help="songs in all (default 20000)")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument(
            "--force",
            action="store_true",
            help="load even into a catalog that has songs: the demo's own songs get the demo's "
            "values back (edits to them are lost); other songs are left alone",
        )

    def handle(self, *args, size: int, seed: int, force: bool, **options):
        if not 1 <= size <= 10_000_000:
            raise CommandError("--size must be between 1 and 10,000,000")
        existing = Song.objects.count()
        if existing and not force:
            self.stdout.write(
                f"demo catalog: not loaded, the catalog has {existing:,} songs already "
                "(it only fills an empty catalog; --force loads it over them)"
            )
            return
        bar = tqdm(total=size, unit=" songs", disable=not sys.stderr.isatty(), file=sys.stderr)
        try:
            report = song_records_upsert(records=demo_records(size, seed=seed), on_batch=bar.update)
        finally:
            bar.close()
        self.stdout.write(
            f"demo catalog: created {report.created}, updated {report.updated}, "
            f"unchanged {report.unchanged} in {report.seconds:.1f} s"
        )
