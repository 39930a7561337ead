"""``rapport service_evaluate_bot``: the self-service bot's figures on the labelled question set,
for a few confidence thresholds. The demo knowledge base is written inside a transaction that is
rolled back, so the command leaves the database as it found it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from rapport.core.actor import Actor
from rapport.service.evaluation import QUESTIONS, evaluate, judge_all
from rapport.service.models import Article
from rapport.service.seed import seed_knowledge_base


class Command(BaseCommand):
    help = "Top-1 accuracy and hand-over rate of the service bot on tests/data/bot_questions.json."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--thresholds", default="0.2,0.3,0.35,0.4,0.5,0.6", help="comma-separated (%(default)s)")
        parser.add_argument("--misses", action="store_true", help="list the questions it got wrong")

    def handle(self, *args: Any, **options: Any) -> None:
        thresholds = [float(t) for t in options["thresholds"].split(",") if t.strip()]
        with transaction.atomic():
            Article.objects.all().delete()
            seed_knowledge_base(Actor.system("bot evaluation"))
            self.stdout.write(f"questions: {QUESTIONS}")
            self.stdout.write("threshold  top-1  answered-correct  hand-over  out-of-scope-handed-over  wrong")
            judged = judge_all()
            for threshold in thresholds:
                score = evaluate(threshold=threshold, judged=judged)
                self.stdout.write(
                    f"{threshold:9.2f}  {score.top1_accuracy:5.1%}  {score.answered_accuracy:16.1%}  "
                    f"{score.handover_rate:9.1%}  {score.out_of_scope_handed_over:24.1%}  {score.wrong_answers:5d}"
                )
            if options["misses"]:
                for miss in evaluate(judged=judged).misses:
                    self.stdout.write(f"  {miss}")
            self.stdout.write(f"({score.questions} questions, {score.answerable} answerable)")
            transaction.set_rollback(True)
