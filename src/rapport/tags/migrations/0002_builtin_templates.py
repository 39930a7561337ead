"""Built-in tag templates (标签模板): lifecycle, value and service tags, ready to instantiate."""

from django.db import migrations

LIFECYCLE = {
    "categories": [
        {
            "name": "Lifecycle",
            "description": "Where the customer is in their life with the shop (kept by rules).",
            "tags": [
                {
                    "name": "New",
                    "colour": "#2f5bd3",
                    "type": "automatic",
                    "description": "Registered in the last 30 days.",
                    "rule": {"type": "profile", "field": "registered_at", "op": "within_last_days", "value": 30},
                },
                {
                    "name": "Active",
                    "colour": "#1e8e3e",
                    "type": "automatic",
                    "description": "Ordered in the last 90 days.",
                    "rule": {"type": "orders", "metric": "count", "op": "gte", "value": 1, "window_days": 90},
                },
                {
                    "name": "Dormant",
                    "colour": "#b26a00",
                    "type": "automatic",
                    "description": "Last order 90 to 365 days ago.",
                    "rule": {
                        "all": [
                            {"type": "orders", "metric": "last_order_at", "op": "more_than_days_ago", "value": 90},
                            {"type": "orders", "metric": "last_order_at", "op": "within_last_days", "value": 365},
                        ]
                    },
                },
                {
                    "name": "Lost",
                    "colour": "#c0392b",
                    "type": "automatic",
                    "description": "Last order more than a year ago.",
                    "rule": {"type": "orders", "metric": "last_order_at", "op": "more_than_days_ago", "value": 365},
                },
            ],
        }
    ]
}

VALUE = {
    "categories": [
        {
            "name": "Value",
            "description": "What the customer is worth over the last year (kept by rules).",
            "tags": [
                {
                    "name": "VIP",
                    "colour": "#8e44ad",
                    "type": "automatic",
                    "description": "Spent 5000 or more in the last 365 days.",
                    "rule": {"type": "orders", "metric": "sum", "op": "gte", "value": "5000", "window_days": 365},
                },
                {
                    "name": "Regular",
                    "colour": "#5b6b8c",
                    "type": "automatic",
                    "description": "Ordered in the last 365 days, spent less than 5000.",
                    "rule": {
                        "all": [
                            {"type": "orders", "metric": "count", "op": "gte", "value": 1, "window_days": 365},
                            {"type": "orders", "metric": "sum", "op": "lt", "value": "5000", "window_days": 365},
                        ]
                    },
                },
            ],
        }
    ]
}

SERVICE = {
    "categories": [
        {
            "name": "Service",
            "description": "What service staff should know before talking to the customer.",
            "tags": [
                {"name": "Complained", "colour": "#c0392b", "description": "Filed a complaint (投诉)."},
                {"name": "Prefers phone", "colour": "#2f5bd3", "description": "Reach by phone, not messages."},
                {"name": "Do not disturb", "colour": "#667085", "description": "No marketing calls."},
                {"name": "Gift buyer", "colour": "#1e8e3e", "description": "Often buys gifts for others."},
            ],
        }
    ]
}

BUILTIN = [
    ("lifecycle", "Lifecycle: new / active / dormant / lost", "Automatic lifecycle stages from orders.", LIFECYCLE),
    ("value", "Value: VIP / regular", "Automatic value tiers from the last year's spending.", VALUE),
    ("service", "Service notes", "Manual tags for customer-service staff.", SERVICE),
]


def create_builtin(apps, schema_editor):
    TagTemplate = apps.get_model("tags", "TagTemplate")
    for key, name, description, definition in BUILTIN:
        TagTemplate.objects.update_or_create(
            key=key, defaults={"name": name, "description": description, "definition": definition, "is_builtin": True}
        )


def remove_builtin(apps, schema_editor):
    apps.get_model("tags", "TagTemplate").objects.filter(is_builtin=True).delete()


class Migration(migrations.Migration):
    dependencies = [("tags", "0001_initial")]

    operations = [migrations.RunPython(create_builtin, remove_builtin)]
