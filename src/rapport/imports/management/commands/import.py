"""``rapport import customers|orders|products FILE``: import a CSV or xlsx file from the shell."""

from __future__ import annotations

import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from rapport.core.actor import Actor, Source
from rapport.imports import services
from rapport.imports.mapping import KINDS, parse_mapping
from rapport.imports.readers import UnusableFile


class Command(BaseCommand):
    help = (
        "Import customers, orders or products from a CSV (UTF-8 or GB18030) or xlsx file. Bad rows are "
        "skipped and reported; the command fails only when the file itself cannot be used."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("file")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help="send a column to a field, e.g. --map 手机=phone (repeat, or separate with commas); "
            "FIELD '-' ignores the column",
        )
        parser.add_argument("--channel", default="import", help="the channel the ids belong to (default: import)")
        parser.add_argument("--report", metavar="PATH", help="write the rejected rows and ignored columns to PATH")
        parser.add_argument("--dry-run", action="store_true", help="validate every row, write nothing")
        parser.add_argument("--user", help="the staff username the changes are recorded under")
        parser.add_argument("--batch-size", type=int, default=services.DEFAULT_BATCH_SIZE)
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"no active staff user {options['user']!r}")
        actor = Actor(user=user, source=Source.IMPORT, label="" if user else "command-line import")
        bar: tqdm[Any] | None = None

        def on_start(result: services.ImportResult) -> None:
            nonlocal bar
            for column, field in result.columns:
                self.stdout.write(f"  {column} → {field}")
            for column, reason in result.ignored_columns:
                self.stdout.write(f"  {column}: ignored ({reason})")
            bar = tqdm(
                total=result.total_rows,
                unit=" rows",
                file=sys.stderr,
                disable=options["no_progress"],
                dynamic_ncols=True,
            )

        def on_batch(result: services.ImportResult) -> None:
            if bar is not None:
                bar.update(result.processed_rows - bar.n)
                bar.set_postfix(created=result.created, updated=result.updated, rejected=result.rejected)

        try:
            result = services.import_file(
                options["file"],
                kind=options["kind"],
                actor=actor,
                channel=options["channel"],
                mapping=parse_mapping(options["map"]),
                report_path=options["report"],
                dry_run=options["dry_run"],
                batch_size=options["batch_size"],
                on_start=on_start,
                on_batch=on_batch,
            )
        except UnusableFile as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if bar is not None:
                bar.close()

        self.stdout.write(("dry run, nothing written: " if result.dry_run else "") + result.summary())
        if result.rejected:
            for error in result.first_errors[:10]:
                self.stdout.write(f"  line {error.line}: {error.field}: {error.message} ({error.code})")
            if result.rejected > 10 or not options["report"]:
                hint = f"see {options['report']}" if options["report"] else "write them all with --report PATH"
                self.stdout.write(f"  … {result.rejected} rows rejected: {hint}")
        if options["report"]:
            self.stdout.write(f"report: {options['report']}")
