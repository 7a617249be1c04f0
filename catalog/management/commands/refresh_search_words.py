from django.core.management.base import BaseCommand

from catalog.vocabulary import refresh_word_counts


class Command(BaseCommand):
    help = (
        "Recount how many songs have each search word (SearchWord.songs), which ranks "
        "search's completions and typo corrections. Safe to repeat; imports keep the counts "
        "roughly, this makes them exact."
    )

    def handle(self, *args, **options):
        changed = refresh_word_counts()
        self.stdout.write(f"search words recounted ({changed} changed)")
