import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog.files import FORMATS, ImportFileError
from catalog.services import IMPORT_BATCH_SIZE_MAX, ImportProgress, song_import


class Command(BaseCommand):
    help = (
        "Import songs from a CSV or JSON Lines file (optionally .gz). Idempotent: importing "
        "the same file again leaves the same rows. Bad rows are reported and skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="path to a .csv, .jsonl or .ndjson file (or .gz)")
        parser.add_argument("--format", choices=FORMATS, help="override the extension")
        parser.add_argument("--strict", action="store_true", help="write nothing if any row is bad")
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument(
            "--show-errors", type=int, default=20, help="how many bad rows to list (default 20)"
        )

    def handle(self, *args, file: str, format: str | None, strict: bool, batch_size: int,
               show_errors: int, **options):  # fmt: skip
        if not 1 <= batch_size <= IMPORT_BATCH_SIZE_MAX:
            raise CommandError(f"--batch-size must be between 1 and {IMPORT_BATCH_SIZE_MAX}")
        bar = tqdm(unit=" rows", disable=not sys.stderr.isatty(), file=sys.stderr)

        def on_batch(progress: ImportProgress) -> None:
            if progress.rows_total is not None:
                bar.total = max(progress.rows_total, progress.rows_done)
            bar.update(progress.rows_done - bar.n)
            bar.set_postfix(created=progress.created, updated=progress.updated,
                            skipped=progress.skipped)  # fmt: skip

        try:
            report = song_import(
                path=file, fmt=format, strict=strict, batch_size=batch_size, on_batch=on_batch
            )
        except ImportFileError as exc:
            raise CommandError(exc.message) from None
        finally:
            bar.close()

        for error in report.errors[:show_errors]:
            self.stderr.write(f"line {error.line}: {error.reason}")
        if report.skipped > show_errors:
            self.stderr.write(f"... and {report.skipped - show_errors} more bad rows")
        if report.strict_refused:
            raise CommandError(
                f"--strict: {report.skipped} bad rows, nothing was written "
                f"({report.rows_read} rows checked in {report.seconds:.1f} s)"
            )
        rate = report.rows_read / report.seconds if report.seconds else 0
        self.stdout.write(
            f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}, "
            f"skipped {report.skipped} — {report.rows_read} rows in {report.seconds:.1f} s "
            f"({rate:,.0f} rows/s)"
        )
