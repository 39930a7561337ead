"""Built-in tag templates speak the reader's language, and so do the tags they create."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from rapport.tags import services
from rapport.tags.builtin import localised
from rapport.tags.models import Tag, TagCategory, TagTemplate

pytestmark = pytest.mark.django_db


def test_applying_a_built_in_template_in_chinese_creates_chinese_categories_and_tags(system_actor: Any) -> None:
    with translation.override("zh-hans"):
        services.apply_template(TagTemplate.objects.get(key="lifecycle"), actor=system_actor)
    category = TagCategory.objects.get()
    assert category.name == "生命周期"
    assert set(Tag.objects.values_list("name", flat=True)) == {"新客", "活跃", "沉睡", "流失"}
    assert Tag.objects.get(name="新客").description == "近 30 天内注册。"


def test_applying_it_in_english_keeps_the_english_names(system_actor: Any) -> None:
    with translation.override("en"):
        services.apply_template(TagTemplate.objects.get(key="value"), actor=system_actor)
    assert set(Tag.objects.values_list("name", flat=True)) == {"VIP", "Regular"}


def test_every_built_in_text_has_a_chinese_translation() -> None:
    with translation.override("zh-hans"):
        for template in TagTemplate.objects.filter(is_builtin=True):
            shown = localised(template)
            texts = [shown.name, shown.description]
            for category in shown.definition["categories"]:
                texts += [category["name"], category["description"]]
                texts += [text for tag in category["tags"] for text in (tag["name"], tag["description"])]
            untranslated = [t for t in texts if t.isascii() and t != "VIP"]
            assert not untranslated, f"{template.key}: {untranslated}"


def test_a_shops_own_template_is_shown_as_typed(system_actor: Any) -> None:
    own = TagTemplate.objects.create(key="own", name="New", definition={"categories": []})
    with translation.override("zh-hans"):
        assert localised(own).name == "New"


def test_templates_page_in_chinese(admin_user: Any) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(admin_user)
    with translation.override("en"):  # the request activates Chinese in this thread: not for the next test
        page = client.get("/tags/templates/").content.decode()
    assert "生命周期：新客 / 活跃 / 沉睡 / 流失" in page and "Lifecycle" not in page
