"""The segment templates shipped with Rapport (人群模板): data only, keyed so reruns are no-ops."""

from django.db import migrations

TEMPLATES = [
    {
        "template_key": "high-spenders-90d",
        "name": "High spenders last 90 days",
        "description": "Spent at least 2,000 across two or more orders in the last 90 days.",
        "rule": {
            "all": [
                {"type": "orders", "metric": "sum", "op": "gte", "value": "2000", "window_days": 90},
                {"type": "orders", "metric": "count", "op": "gte", "value": "2", "window_days": 90},
            ]
        },
    },
    {
        "template_key": "lapsed-buyers",
        "name": "Lapsed buyers",
        "description": "Bought before, but not in the last 180 days.",
        "rule": {
            "all": [
                {"type": "orders", "metric": "count", "op": "gte", "value": "1"},
                {"type": "orders", "metric": "last_order_at", "op": "more_than_days_ago", "value": 180},
            ]
        },
    },
    {
        "template_key": "browsed-never-bought",
        "name": "Browsed but never bought",
        "description": "Viewed products at least three times in the last 30 days and has never ordered.",
        "rule": {
            "all": [
                {"type": "event", "op": "did", "name": "Product Viewed", "min_count": 3, "window_days": 30},
                {"type": "orders", "metric": "count", "op": "eq", "value": "0"},
            ]
        },
    },
    {
        "template_key": "new-this-month",
        "name": "New this month",
        "description": "Registered in the last 30 days.",
        "rule": {"all": [{"type": "profile", "field": "registered_at", "op": "within_last_days", "value": 30}]},
    },
    {
        "template_key": "loyal-members",
        "name": "Loyal members",
        "description": "Members with five or more orders in the last year.",
        "rule": {
            "all": [
                {"type": "profile", "field": "member_status", "op": "eq", "value": "member"},
                {"type": "orders", "metric": "count", "op": "gte", "value": "5", "window_days": 365},
            ]
        },
    },
    {
        "template_key": "one-time-buyers",
        "name": "One-time buyers",
        "description": "Exactly one order ever, placed in the last 90 days: ready for a second-purchase nudge.",
        "rule": {
            "all": [
                {"type": "orders", "metric": "count", "op": "eq", "value": "1"},
                {"type": "orders", "metric": "last_order_at", "op": "within_last_days", "value": 90},
            ]
        },
    },
]


def add_templates(apps, schema_editor):
    Segment = apps.get_model("segments", "Segment")
    for template in TEMPLATES:
        Segment.objects.update_or_create(
            template_key=template["template_key"],
            defaults={**template, "is_template": True, "snapshot_schedule": False},
        )


def remove_templates(apps, schema_editor):
    Segment = apps.get_model("segments", "Segment")
    Segment.objects.filter(template_key__in=[t["template_key"] for t in TEMPLATES]).delete()


class Migration(migrations.Migration):
    dependencies = [("segments", "0001_initial")]

    operations = [migrations.RunPython(add_templates, remove_templates)]
