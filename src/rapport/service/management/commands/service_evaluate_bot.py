"""``rapport service_evaluate_bot``: the self-service bot's figures on each labelled question set
(the tuning sets — tuning, written, fresh2 to fresh10 — and the held-out, fresh, fresh11 and fresh12 sets — ``--sets``
picks some), for a few confidence thresholds, next to the simple
baseline (BM25 alone) in the same run. The demo knowledge base is written inside
a transaction that is rolled back, so the command leaves the database as it found it.

``--misses`` lists the questions it got wrong on the tuning sets only: reading the held-out
set's misses would turn it into a tuning set. ``--fit-smalltalk`` refits the small-talk classifier
and stores its weights (``bot_smalltalk_weights.json``). ``--cross-validate-bot`` prints the whole
bot's figures per tuning set left out, for the former and the current tuning sets, which is what
the threshold and the gate are chosen from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from rapport.core.actor import Actor
from rapport.service import bot, scope, smalltalk
from rapport.service.evaluation import (
    BASELINE_COVERAGE,
    FORMER_TUNING,
    NO_GATE,
    SETS,
    TUNING,
    bot_cross_validated,
    calibrate,
    cross_validated,
    evaluate,
    fit_scope,
    gate_for,
    judge_all,
    scope_cross_validated,
    smalltalk_cross_validated,
    threshold_for,
    write_customer_questions,
)
from rapport.service.models import Article
from rapport.service.seed import seed_knowledge_base


class Command(BaseCommand):
    help = "Accuracy, wrong-answer and hand-over rates of the service bot on the tuning and held-out question sets."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--thresholds", default="", help="comma-separated (default: the configured one)")
        parser.add_argument("--misses", action="store_true", help="list the tuning sets' questions it got wrong")
        parser.add_argument(
            "--sets", default=",".join(SETS), help=f"comma-separated among {', '.join(SETS)} (default: all)"
        )
        parser.add_argument(
            "--calibrate",
            action="store_true",
            help="copy the tuning sets' labelled questions for the ranking's question model "
            "(bot_customer_questions.json), refit the answerability model and the out-of-scope gate on the tuning "
            "sets and write bot_calibration.json and bot_scope.json",
        )
        parser.add_argument(
            "--fit-smalltalk",
            action="store_true",
            help="refit the small-talk classifier on bot_smalltalk.json first and write bot_smalltalk_weights.json "
            "(about 8 s CPU)",
        )
        parser.add_argument(
            "--cross-validate-smalltalk",
            action="store_true",
            help="print leave-one-set-out small-talk recognition per set (a refit per set, ~8 s CPU each)",
        )
        parser.add_argument(
            "--cross-validate-bot",
            action="store_true",
            help="print the whole bot's figures per tuning set left out (gate and answerability model fitted "
            "without it) per threshold (--thresholds) and gate, fitted on the former and on the current tuning sets",
        )
        parser.add_argument(
            "--cross-validate",
            type=float,
            metavar="TARGET_WRONG_RATE",
            help="print out-of-fold figures on the tuning set per threshold and the lowest threshold "
            "whose out-of-fold wrong-answer rate is within this target (e.g. 0.01)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        thresholds = [float(t) for t in options["thresholds"].split(",") if t.strip()] or [
            settings.RAPPORT_SERVICE_BOT_THRESHOLD
        ]
        if options["fit_smalltalk"]:
            data = smalltalk.write_weights()
            self.stdout.write(f"small talk: {len(data['ngrams'])} n-grams, kinds {', '.join(data['kinds'])}")
        if options["cross_validate_smalltalk"]:
            for fold in smalltalk_cross_validated():
                self.stdout.write(
                    f"small talk, {fold.name} left out: {fold.replied}/{fold.smalltalk} replied, "
                    f"{fold.taken_for_smalltalk}/{fold.questions} other messages taken for small talk"
                )
        with transaction.atomic():
            Article.objects.all().delete()
            seed_knowledge_base(Actor.system("bot evaluation"))
            if options["calibrate"]:
                asked = write_customer_questions()  # the ranking's question model learns from them
                self.stdout.write(f"question model: labelled questions of {len(asked['articles'])} articles")
                scope.set_model(fit_scope(gate=NO_GATE))  # the weights first: the answerability model reads them
                coefficients = calibrate()
                bot.CALIBRATION_FILE.write_text(json.dumps(coefficients, indent=1) + "\n", encoding="utf-8")
                bot.set_calibration(coefficients)
                self.stdout.write(f"calibration: logistic regression, {coefficients['fitted_on']}")
                self._fit_gate()
            if options["cross_validate"] is not None:
                self._cross_validate(options["cross_validate"])
            if options["cross_validate_bot"]:
                self._cross_validate_bot(thresholds)
            for name in [n.strip() for n in options["sets"].split(",") if n.strip()]:
                self._report(name, SETS[name], thresholds, misses=options["misses"] and SETS[name] in TUNING)
            transaction.set_rollback(True)

    def _cross_validate(self, target: float) -> None:
        grid = [round(0.025 * n, 3) for n in range(20, 39)]
        scores = cross_validated(thresholds=grid)
        self.stdout.write(
            "tuning sets, out of fold (one fold per set, i.e. per writer): threshold  right  wrong  wrong-rate"
        )
        for score in scores:
            self.stdout.write(f"  {score.threshold:.3f}  {score.right:5d}  {score.wrong:5d}  {score.wrong_rate:6.2%}")
        chosen = threshold_for(scores, target_wrong_rate=target)
        self.stdout.write(f"lowest threshold within {target:.2%} wrong out of fold: {chosen}")

    def _cross_validate_bot(self, thresholds: list[float]) -> None:
        gates = [round(0.05 * n, 2) for n in range(10, 20)] + [NO_GATE]
        for label, paths in (("former tuning sets", FORMER_TUNING), ("tuning sets", TUNING)):
            self.stdout.write(
                f"fitted on the {label} ({', '.join(p.stem for p in paths)}), each set left out:"
                " threshold gate set  right/answerable  wrong/questions  out-of-scope-handed-over"
            )
            folds = bot_cross_validated(thresholds, gates, paths=paths, tested=TUNING)
            for fold in folds:
                self.stdout.write(
                    f"  {fold.threshold:.2f} {fold.gate:.2f} {fold.name:22s}"
                    f" {fold.right:4d}/{fold.score.answerable:<4d}"
                    f" {fold.score.wrong_answers:4d}/{fold.score.questions:<4d}"
                    f" {fold.out_of_scope_handed_over:4d}/{fold.out_of_scope}"
                )
            for threshold in thresholds:
                for gate in gates:
                    chosen = [f for f in folds if f.threshold == threshold and f.gate == gate]
                    self.stdout.write(
                        f"  all {threshold:.2f} {gate:.2f}: right {sum(f.right for f in chosen)}/"
                        f"{sum(f.score.answerable for f in chosen)}, "
                        f"wrong {sum(f.score.wrong_answers for f in chosen)}/"
                        f"{sum(f.score.questions for f in chosen)}, out of scope handed over "
                        f"{sum(f.out_of_scope_handed_over for f in chosen)}/{sum(f.out_of_scope for f in chosen)}, "
                        f"worst set wrong {max(f.score.wrong_rate for f in chosen):.1%}"
                    )

    def _fit_gate(self) -> None:
        """Choose the out-of-scope gate's threshold out of fold (one writer left out at a time),
        then fit it on all the tuning text and write ``bot_scope.json``."""
        scores, answerable, out_of_scope = scope_cross_validated([round(0.05 * n, 2) for n in range(6, 20)])
        self.stdout.write(
            f"out-of-scope gate, out of fold ({answerable} answerable, {out_of_scope} out of scope):"
            " gate  right-lost  wrong-prevented  out-of-scope-caught"
        )
        for score in scores:
            self.stdout.write(
                f"  {score.gate:.2f}  {score.right_lost:10d}  {score.wrong_prevented:15d}"
                f"  {score.out_of_scope_caught:19d}"
            )
        gate = gate_for(scores, answerable)
        data = fit_scope(gate if gate is not None else NO_GATE)
        scope.SCOPE_FILE.write_text(json.dumps(data) + "\n", encoding="utf-8")
        scope.set_model(data)
        self.stdout.write(f"gate: {data['gate']}, {data['fitted_on']}")

    def _report(self, name: str, path: Path, thresholds: list[float], *, misses: bool) -> None:
        judged = judge_all(path)
        self.stdout.write(f"{name} set: {path}")
        self.stdout.write(
            "           threshold  accuracy  wrong  hand-over  out-of-scope-handed-over  small-talk-replied  top-1"
        )
        rows = [("bot", t, evaluate(threshold=t, judged=judged)) for t in thresholds]
        rows.append(("baseline", 0.0, evaluate(threshold=0.0, judged=judge_all(path, baseline=True))))
        for label, threshold, score in rows:
            shown = f"{threshold:9.2f}" if label == "bot" else f"{BASELINE_COVERAGE:9.2f}"
            self.stdout.write(
                f"{label:9s}  {shown}  {score.accuracy:8.1%}  {score.wrong_rate:5.1%}  {score.handover_rate:9.1%}"
                f"  {score.out_of_scope_handed_over:24.1%}  {score.smalltalk_replied:18.1%}"
                f"  {score.top1_accuracy:5.1%}"
            )
        self.stdout.write(f"({score.questions} questions, {score.answerable} answerable)")
        if misses:
            for miss in evaluate(judged=judged).misses:
                self.stdout.write(f"  {miss}")
