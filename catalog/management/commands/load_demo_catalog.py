import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog.demo import DEFAULT_SEED, demo_records
from catalog.services import song_records_upsert


class Command(BaseCommand):
    help = (
        "Load the demo catalog: a few hundred real, well-known songs plus a seeded synthetic "
        "catalog. Deterministic: loading it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--size", type=int, default=20_000, help="songs in all (default 20000)")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)

    def handle(self, *args, size: int, seed: int, **options):
        if not 1 <= size <= 10_000_000:
            raise CommandError("--size must be between 1 and 10,000,000")
        bar = tqdm(total=size, unit=" songs", disable=not sys.stderr.isatty(), file=sys.stderr)
        try:
            report = song_records_upsert(records=demo_records(size, seed=seed), on_batch=bar.update)
        finally:
            bar.close()
        self.stdout.write(
            f"demo catalog: created {report.created}, updated {report.updated}, "
            f"unchanged {report.unchanged} in {report.seconds:.1f} s"
        )
