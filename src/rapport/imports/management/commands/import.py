"""``rapport import customers|orders|products|refunds|loyalty|events FILE``: import a file from the shell."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from rapport.core.actor import Actor, Source
from rapport.imports import engine, presets, services
from rapport.imports.mapping import KINDS, parse_mapping
from rapport.imports.models import ImportJob
from rapport.imports.readers import UnusableFile


class Command(BaseCommand):
    help = (
        "Import customers, orders, products, refunds or loyalty opening balances from a CSV (UTF-8 or "
        "GB18030) or xlsx file, or behaviour events from JSON Lines. Bad rows are "
        "skipped and reported; the command fails only when the file itself cannot be used. The import is "
        "an import job, as from the console: a killed run resumes with --resume JOB."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=KINDS, nargs="?")
        parser.add_argument("file", nargs="?")
        parser.add_argument(
            "--mode",
            choices=services.MODES,
            default=services.HISTORY,
            help="history (default): past orders, no messages, points or journeys, derived data recomputed "
            "once; live: each row as if it happened now, through the same services as the API",
        )
        parser.add_argument(
            "--resume", type=int, metavar="JOB", help="resume job JOB after its last committed chunk (same file)"
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help="send a column to a field, e.g. --map 手机=phone (repeat, or separate with commas); "
            "FIELD '-' ignores the column",
        )
        parser.add_argument(
            "--channel",
            default="import",
            help="the channel the ids belong to (default: import); for events, the event source's name",
        )
        parser.add_argument(
            "--preset",
            choices=list(presets.PRESETS),
            default="",
            help="the platform the export comes from: its columns are mapped as it names them",
        )
        parser.add_argument("--report", metavar="PATH", help="write the rejected rows and ignored columns to PATH")
        parser.add_argument("--dry-run", action="store_true", help="validate every row, write nothing")
        parser.add_argument("--user", help="the staff username the changes are recorded under")
        parser.add_argument(
            "--batch-size",
            type=int,
            help=f"file rows a transaction (default: {engine.DEFAULT_CHUNK_ROWS} for history, "
            f"{services.DEFAULT_BATCH_SIZE} for live)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self._actor(options["user"])
        bar: tqdm[Any] | None = None

        def on_start(result: services.ImportResult) -> None:
            nonlocal bar
            for column, field in result.columns:
                self.stdout.write(f"  {column} → {field}")
            for column, reason in result.ignored_columns:
                self.stdout.write(f"  {column}: ignored ({reason})")
            bar = tqdm(
                total=result.total_rows,
                initial=result.processed_rows,
                unit=" rows",
                file=sys.stderr,
                disable=options["no_progress"],
                dynamic_ncols=True,
            )

        def on_batch(result: services.ImportResult) -> None:
            if bar is not None:
                bar.update(result.processed_rows - bar.n)
                bar.set_postfix(created=result.created, updated=result.updated, rejected=result.rejected)

        result: services.ImportResult | None
        try:
            if options["dry_run"]:
                result = self._dry_run(options, actor, on_start, on_batch)
                job = None
            else:
                job, result = self._run_job(options, actor, on_start, on_batch)
            if bar is not None and result is not None and not result.cancelled:
                bar.total = result.total_rows  # the file's estimated rows, now counted
                bar.update(result.processed_rows - bar.n)
        except UnusableFile as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if bar is not None:
                bar.close()
        if job is not None and result is None:
            raise CommandError(job.error_message or f"import job #{job.pk} is {job.get_status_display()}")
        assert result is not None
        self._summarise(job, result, options["report"])

    def _actor(self, username: str | None) -> Actor:
        """The staff member the changes are recorded under, or the command line itself."""
        user = None
        if username:
            user = get_user_model().objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(f"no active staff user {username!r}")
        return Actor(user=user, source=Source.IMPORT, label="" if user else "command-line import")

    def _summarise(self, job: ImportJob | None, result: services.ImportResult, report: str | None) -> None:
        prefix = f"job #{job.pk}: " if job is not None else "dry run, nothing written: "
        self.stdout.write(prefix + result.summary())
        if result.rejected:
            for error in result.first_errors[:10]:
                self.stdout.write(f"  line {error.line}: {error.field}: {error.message} ({error.code})")
            if result.rejected > 10 or not report:
                hint = f"see {report}" if report else "write them all with --report PATH"
                self.stdout.write(f"  … {result.rejected} rows rejected: {hint}")
        if report:
            self.stdout.write(f"report: {report}")

    def _dry_run(self, options: dict[str, Any], actor: Actor, on_start: Any, on_batch: Any) -> services.ImportResult:
        kind, path = self._kind_and_file(options)
        return services.import_file(
            path,
            kind=kind,
            actor=actor,
            channel=options["channel"],
            mapping=parse_mapping(options["map"]),
            report_path=options["report"],
            dry_run=True,
            mode=options["mode"],
            preset=options["preset"],
            batch_size=options["batch_size"],
            on_start=on_start,
            on_batch=on_batch,
        )

    def _run_job(
        self, options: dict[str, Any], actor: Actor, on_start: Any, on_batch: Any
    ) -> tuple[ImportJob, services.ImportResult | None]:
        if options["resume"]:
            job = ImportJob.objects.filter(pk=options["resume"]).first()
            if job is None:
                raise CommandError(f"no import job #{options['resume']}")
            if job.status != ImportJob.Status.RUNNING:
                raise CommandError(f"import job #{job.pk} is {job.get_status_display()}: nothing to resume")
            self.stdout.write(f"resuming job #{job.pk} after line {job.committed_line}")
        else:
            kind, path = self._kind_and_file(options)
            from rapport.imports.readers import open_table

            open_table(path).close()  # an unusable file fails here, before a job is recorded
            job = services.create_job(
                kind=kind,
                path=Path(path).resolve(),
                original_name=Path(path).name,
                channel=options["channel"],
                mapping=parse_mapping(options["map"]),
                actor=actor,
                mode=options["mode"],
                preset=options["preset"],
            )
        finished, result = services.run_job(
            job.pk,
            on_start=on_start,
            on_chunk=on_batch,
            report_path=options["report"],
            batch_size=options["batch_size"],
        )
        assert finished is not None
        if finished.status == ImportJob.Status.FAILED:
            raise UnusableFile(finished.error_message)
        return finished, result

    def _kind_and_file(self, options: dict[str, Any]) -> tuple[str, str]:
        if not options["kind"] or not options["file"]:
            raise CommandError(f"give the kind ({', '.join(KINDS)}) and the file, or --resume JOB")
        return options["kind"], options["file"]
