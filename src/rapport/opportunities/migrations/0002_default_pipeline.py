"""The default pipeline: 初步接洽 Qualified, 方案报价 Proposal, 谈判 Negotiation, 赢单 Won, 输单 Lost.

Stage names are stored in English and translated on display (zh-Hans in the catalogue)."""

from django.db import migrations

STAGES = [("Qualified", 10, ""), ("Proposal", 40, ""), ("Negotiation", 70, ""), ("Won", 100, "won"), ("Lost", 0, "lost")]


def seed(apps, schema_editor):
    Pipeline = apps.get_model("opportunities", "Pipeline")
    Stage = apps.get_model("opportunities", "Stage")
    if Pipeline.objects.exists():
        return
    pipeline = Pipeline.objects.create(name="Sales", is_default=True)
    Stage.objects.bulk_create(
        Stage(pipeline=pipeline, name=name, position=index, probability=probability, outcome=outcome)
        for index, (name, probability, outcome) in enumerate(STAGES)
    )


class Migration(migrations.Migration):
    dependencies = [("opportunities", "0001_pipelines_and_opportunities")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
