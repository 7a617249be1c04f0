import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog.files import FORMATS
from catalog.models import Song
from catalog.services import song_export


class Command(BaseCommand):
    help = "Export the catalog as CSV or JSON Lines, the same formats import_songs reads."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default="-", help="output path, or - for stdout")
        parser.add_argument(
            "--format", choices=FORMATS, help="default: from the extension, else csv"
        )

    def handle(self, *args, file: str, format: str | None, **options):
        if format is None:
            suffix = Path(file).suffix.lower()
            format = "jsonl" if suffix in (".jsonl", ".ndjson") else "csv"
        to_stdout = file == "-"
        bar = tqdm(
            total=Song.objects.count(), unit=" songs", file=sys.stderr,
            disable=to_stdout or not sys.stderr.isatty(),
        )  # fmt: skip
        try:
            out = sys.stdout if to_stdout else open(file, "w", encoding="utf-8", newline="")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"cannot write {file}: {exc.strerror}") from None
        try:
            count = song_export(out=out, fmt=format, on_row=lambda: bar.update(1))
        finally:
            bar.close()
            if not to_stdout:
                out.close()
        if not to_stdout:
            self.stdout.write(f"exported {count} songs to {file}")
