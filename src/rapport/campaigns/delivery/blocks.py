"""Email composed from blocks: the block catalogue, its validation, and the rendering of a block
list to responsive email HTML (tables, inline styles) and a plain-text part.

A template's ``blocks`` is a list of ``{"type": ..., <field>: ...}``. :data:`BLOCKS` describes
every type's fields once: the server validates against it (an error names the block and the field,
``blocks.2.url``) and the console's editor draws its forms from it, so the two cannot drift.

Personalisation is a fixed list of fields (:data:`PERSONAL_FIELDS`) inserted as tokens
(``{{first_name}}``) by picking, never typed template code: tokens are replaced by plain
substitution, and the values are escaped by the HTML template like any other text.

A footer with the unsubscribe link is always there: :func:`clean_blocks` appends one when the
operator removed it, and :func:`render` adds one to a stored list that has none.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from rapport.campaigns.delivery import content
from rapport.core.errors import FieldError, InvalidInput
from rapport.loyalty.models import Account, Asset, Coupon, CouponStatus, CouponTemplate, Membership
from rapport.recommendations.services import for_customers

MAX_BLOCKS = 40
TOKEN = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
COLOR = re.compile(r"#[0-9a-fA-F]{6}")
URL = re.compile(r"https?://[^\s<>\"']+")

PERSONAL_FIELDS: dict[str, Any] = {
    "first_name": gettext_lazy("First name"),
    "name": gettext_lazy("Full name"),
    "level": gettext_lazy("Member level"),
    "points": gettext_lazy("Points balance"),
    "city": gettext_lazy("City"),
    "store": gettext_lazy("Store"),
}


@dataclass(frozen=True)
class Field:
    """One field of a block: its kind drives both validation and the editor's input."""

    kind: str  # text, longtext, url, choice, number, bool, color, coupon_template
    label: Any
    required: bool = False
    max_length: int = 200
    choices: tuple[tuple[str, Any], ...] = ()
    minimum: int = 0
    maximum: int = 0
    default: Any = ""
    personal: bool = False  # may hold personalisation tokens


@dataclass(frozen=True)
class BlockType:
    label: Any
    fields: dict[str, Field] = field(default_factory=dict)


ALIGN = (("left", pgettext_lazy("alignment", "Left")), ("center", gettext_lazy("Centre")))

BLOCKS: dict[str, BlockType] = {
    "heading": BlockType(
        gettext_lazy("Heading"),
        {
            "text": Field("text", gettext_lazy("Text"), required=True, personal=True),
            "size": Field(
                "choice",
                gettext_lazy("Size"),
                choices=(("large", gettext_lazy("Large")), ("small", gettext_lazy("Small"))),
                default="large",
            ),
            "align": Field("choice", gettext_lazy("Alignment"), choices=ALIGN, default="left"),
        },
    ),
    "text": BlockType(
        gettext_lazy("Text"),
        {
            "text": Field("longtext", gettext_lazy("Text"), required=True, max_length=5000, personal=True),
            "align": Field("choice", gettext_lazy("Alignment"), choices=ALIGN, default="left"),
        },
    ),
    "image": BlockType(
        gettext_lazy("Image"),
        {
            "src": Field("url", gettext_lazy("Image address (https://…)"), required=True, max_length=500),
            "alt": Field("text", gettext_lazy("Description for screen readers"), max_length=200),
            "link": Field("url", gettext_lazy("Link (optional)"), max_length=500),
        },
    ),
    "button": BlockType(
        gettext_lazy("Button"),
        {
            "label": Field("text", pgettext_lazy("button", "Label"), required=True, max_length=80, personal=True),
            "url": Field("url", gettext_lazy("Link"), required=True, max_length=500),
            "color": Field("color", gettext_lazy("Colour"), default="#c0392b"),
            "align": Field("choice", gettext_lazy("Alignment"), choices=ALIGN, default="center"),
        },
    ),
    "coupon": BlockType(
        gettext_lazy("Coupon"),
        {
            "template": Field("coupon_template", gettext_lazy("Coupon template"), required=True),
            "title": Field("text", gettext_lazy("Title (optional)"), max_length=120, personal=True),
        },
    ),
    "recommendations": BlockType(
        gettext_lazy("Product recommendations"),
        {
            "title": Field("text", gettext_lazy("Title"), max_length=120, personal=True),
            "count": Field("number", pgettext_lazy("how many", "Products"), minimum=1, maximum=6, default=3),
            "show_reasons": Field("bool", gettext_lazy("Show why each is recommended"), default=True),
        },
    ),
    "divider": BlockType(gettext_lazy("Divider")),
    "footer": BlockType(
        gettext_lazy("Footer with unsubscribe link"),
        {
            "text": Field("longtext", gettext_lazy("Text (optional)"), max_length=500),
            "unsubscribe_label": Field("text", gettext_lazy("Unsubscribe link text"), max_length=60),
        },
    ),
}


def catalogue() -> dict[str, Any]:
    """The block types, their fields and the personalisation fields, for the editor."""
    return {
        "blocks": [
            {
                "type": kind,
                "label": str(spec.label),
                "fields": [
                    {
                        "name": name,
                        "kind": f.kind,
                        "label": str(f.label),
                        "required": f.required,
                        "max_length": f.max_length,
                        "choices": [[value, str(label)] for value, label in f.choices],
                        "minimum": f.minimum,
                        "maximum": f.maximum,
                        "default": f.default,
                        "personal": f.personal,
                    }
                    for name, f in spec.fields.items()
                ],
            }
            for kind, spec in BLOCKS.items()
        ],
        "personal_fields": [[name, str(label)] for name, label in PERSONAL_FIELDS.items()],
    }


# Validation ------------------------------------------------------------------------------------


def _where(index: int, kind: str) -> str:
    spec = BLOCKS.get(kind)
    return f"block {index + 1} ({spec.label if spec else kind})"


def _clean_value(path: str, where: str, name: str, spec: Field, value: Any) -> tuple[Any, FieldError | None]:
    """The value as stored, or the error that names the block and the field."""
    if spec.kind == "bool":
        return (
            (value, None)
            if isinstance(value, bool)
            else (spec.default, FieldError(path, "invalid", f"{where}: {name} is yes or no"))
        )
    if spec.kind in ("number", "coupon_template"):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            return None, FieldError(path, "invalid", f"{where}: {name} must be a whole number")
        if spec.kind == "number" and not spec.minimum <= value <= spec.maximum:
            return None, FieldError(path, "invalid", f"{where}: {name} from {spec.minimum} to {spec.maximum}")
        return value, None
    if not isinstance(value, str):
        return None, FieldError(path, "invalid", f"{where}: {name} must be text")
    text = value.strip()
    if len(text) > spec.max_length:
        return None, FieldError(path, "too_long", f"{where}: {name} has at most {spec.max_length} characters")
    if not text:
        return text, None
    if spec.kind == "url" and not URL.fullmatch(text):
        return None, FieldError(path, "invalid", f"{where}: {name} must be a web address starting with https://")
    if spec.kind == "color" and not COLOR.fullmatch(text):
        return None, FieldError(path, "invalid", f"{where}: {name} is a colour like #c0392b")
    if spec.kind == "choice" and text not in {c for c, _label in spec.choices}:
        return None, FieldError(path, "invalid", f"{where}: {name} is one of {', '.join(c for c, _l in spec.choices)}")
    unknown = sorted({m.group(1) for m in TOKEN.finditer(text)} - set(PERSONAL_FIELDS)) if spec.personal else []
    if unknown:
        return None, FieldError(
            path,
            "unknown_variable",
            f"{where}: {name} uses {', '.join(unknown)}; pick from {', '.join(PERSONAL_FIELDS)}",
        )
    return text, None


def _clean_block(index: int, raw: Any, errors: list[FieldError]) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        errors.append(FieldError(f"blocks.{index}", "invalid", f"block {index + 1} must be an object with a type"))
        return None
    kind = raw.get("type")
    spec = BLOCKS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        errors.append(
            FieldError(f"blocks.{index}.type", "invalid", f"block {index + 1}: type is one of {', '.join(BLOCKS)}")
        )
        return None
    where = _where(index, str(kind))
    block: dict[str, Any] = {"type": kind}
    for name in raw:
        if name != "type" and name not in spec.fields:
            errors.append(FieldError(f"blocks.{index}.{name}", "unknown_field", f"{where}: no field {name!r}"))
    for name, field_spec in spec.fields.items():
        path = f"blocks.{index}.{name}"
        value = raw.get(name)
        if value is None or value == "":
            if field_spec.required:
                errors.append(FieldError(path, "required", f"{where}: {field_spec.label} is required"))
            block[name] = field_spec.default
            continue
        cleaned, error = _clean_value(path, where, name, field_spec, value)
        if error is not None:
            errors.append(error)
        block[name] = cleaned
    return block


def clean_blocks(raw: Any) -> list[dict[str, Any]]:
    """The blocks as stored, a footer added when missing; :class:`InvalidInput` names each bad field."""
    if not isinstance(raw, list):
        raise InvalidInput.single("blocks", "invalid", "a list of blocks")
    if len(raw) > MAX_BLOCKS:
        raise InvalidInput.single("blocks", "too_long", f"at most {MAX_BLOCKS} blocks")
    errors: list[FieldError] = []
    # Keyed by the position the operator sent, so that every error names the block they see.
    by_index = {index: block for index, item in enumerate(raw) if (block := _clean_block(index, item, errors))}
    cleaned = list(by_index.values())
    footers = [i for i, block in by_index.items() if block["type"] == "footer"]
    if len(footers) > 1:
        errors.append(FieldError(f"blocks.{footers[1]}.type", "duplicate", "an email has one footer"))
    template_ids = {b["template"] for b in cleaned if b["type"] == "coupon" and isinstance(b.get("template"), int)}
    known = set(CouponTemplate.objects.filter(pk__in=template_ids).values_list("pk", flat=True))
    for index, block in by_index.items():
        if block["type"] == "coupon" and isinstance(block.get("template"), int) and block["template"] not in known:
            errors.append(
                FieldError(
                    f"blocks.{index}.template", "not_found", f"{_where(index, 'coupon')}: no such coupon template"
                )
            )
    if not any(b["type"] != "footer" for b in cleaned) and not errors:
        errors.append(FieldError("blocks", "required", "add at least one block besides the footer"))
    if errors:
        raise InvalidInput(errors)
    return with_footer(cleaned)


def with_footer(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The list with a footer at the end when it has none: the unsubscribe link is never missing."""
    if any(b.get("type") == "footer" for b in blocks):
        return blocks
    return [*blocks, {"type": "footer", "text": "", "unsubscribe_label": ""}]


def tokens_used(blocks: Iterable[Mapping[str, Any]]) -> set[str]:
    used: set[str] = set()
    for block in blocks:
        for value in block.values():
            if isinstance(value, str):
                used |= {m.group(1) for m in TOKEN.finditer(value)}
    return used


# Per-customer data, loaded for a batch ------------------------------------------------------------


@dataclass
class Personal:
    """What one customer's blocks are filled with."""

    fields: dict[str, str]
    coupons: dict[int, dict[str, str]] = field(default_factory=dict)  # by coupon template id
    recommendations: list[dict[str, str]] = field(default_factory=list)


def _coupon_offers(template_ids: set[int]) -> dict[int, dict[str, str]]:
    offers = {}
    for template in CouponTemplate.objects.filter(pk__in=template_ids):
        value = f"¥{template.amount_off:g}" if template.kind == "amount_off" else f"{template.percent_off:g}%"
        offers[template.pk] = {"name": template.name, "value": value, "code": "", "expires_at": ""}
    return offers


def _issued_coupons(customer_ids: list[int], template_ids: set[int]) -> dict[tuple[int, int], dict[str, str]]:
    """Each customer's newest unused coupon of each template (one query)."""
    found: dict[tuple[int, int], dict[str, str]] = {}
    rows = (
        Coupon.objects.filter(customer_id__in=customer_ids, template_id__in=template_ids, status=CouponStatus.ISSUED)
        .order_by("-issued_at", "-id")
        .values_list("customer_id", "template_id", "code", "valid_until")
    )
    for customer_id, template_id, code, valid_until in rows:
        found.setdefault(
            (customer_id, template_id),
            {"code": code, "expires_at": valid_until.date().isoformat() if valid_until else ""},
        )
    return found


def _fields(customer_ids: list[int], used: set[str]) -> dict[int, dict[str, str]]:
    facts = content.customer_facts(customer_ids)
    levels: dict[int, str] = {}
    points: dict[int, str] = {}
    if "level" in used:
        levels = dict(
            Membership.objects.filter(customer_id__in=customer_ids, level__isnull=False).values_list(
                "customer_id", "level__name"
            )
        )
    if "points" in used:
        points = {
            pk: f"{balance:g}"
            for pk, balance in Account.objects.filter(customer_id__in=customer_ids, asset=Asset.POINTS).values_list(
                "customer_id", "balance"
            )
        }
    result = {}
    for pk in customer_ids:
        fact = facts.get(pk, {})
        name = str(fact.get("name") or "")
        result[pk] = {
            "name": name,
            # A Latin name is greeted by its first word; a Chinese name (no spaces) whole.
            "first_name": name.split()[0] if name.split() else "",
            "level": levels.get(pk, ""),
            "points": points.get(pk, "0"),
            "city": str(fact.get("city") or ""),
            "store": str(fact.get("store") or ""),
        }
    return result


def _recommended(customer_ids: list[int], limit: int) -> dict[int, list[dict[str, str]]]:
    """The recommendations app's list for each customer, with the reason in words (the same few
    queries for a batch of any size)."""
    result: dict[int, list[dict[str, str]]] = defaultdict(list)
    for customer_id, suggestions in for_customers(customer_ids, limit=limit).items():
        for suggestion in suggestions:
            product = suggestion.product
            result[customer_id].append(
                {
                    "name": product.name,
                    "price": f"{product.currency} {product.price:.2f}",
                    "image": product.image_url,
                    "url": product.product_url,
                    "reason": suggestion.reason_text,
                }
            )
    return result


def personal_for(
    customer_ids: Iterable[int],
    blocks: Iterable[Mapping[str, Any]],
    *,
    issued: Mapping[int, Mapping[str, Any]] | None = None,
) -> dict[int, Personal]:
    """Everything the blocks need for each customer, in a few queries per batch.

    ``issued`` is the coupon a plan's coupon step gave each customer (by customer id): it fills
    a coupon block of the same template before any older unused coupon does.
    """
    ids = list(customer_ids)
    block_list = list(blocks)
    fields = _fields(ids, tokens_used(block_list))
    template_ids = {int(b["template"]) for b in block_list if b.get("type") == "coupon" and b.get("template")}
    offers = _coupon_offers(template_ids) if template_ids else {}
    held = _issued_coupons(ids, template_ids) if template_ids else {}
    wanted = max((int(b.get("count") or 3) for b in block_list if b.get("type") == "recommendations"), default=0)
    recommended = _recommended(ids, wanted) if wanted else {}
    result = {}
    for pk in ids:
        coupons = {}
        for template_id, offer in offers.items():
            given = (issued or {}).get(pk)
            if given and given.get("name") == offer["name"] and given.get("code"):
                coupons[template_id] = {
                    **offer,
                    "code": str(given["code"]),
                    "expires_at": str(given.get("expires_at", "")),
                }
            else:
                coupons[template_id] = {**offer, **held.get((pk, template_id), {})}
        result[pk] = Personal(fields=fields[pk], coupons=coupons, recommendations=recommended.get(pk, []))
    return result


# Rendering ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedEmail:
    html: str
    text: str


def fill(text: str, values: Mapping[str, str]) -> str:
    """Tokens replaced by the customer's values; a value the customer lacks leaves nothing."""
    return TOKEN.sub(lambda m: values.get(m.group(1), ""), text)


def _prepared(block: Mapping[str, Any], personal: Personal, unsubscribe_url: str) -> dict[str, Any]:
    """The block with tokens filled and what it shows looked up (coupon, products, labels)."""
    ready: dict[str, Any] = {k: fill(v, personal.fields) if isinstance(v, str) else v for k, v in block.items()}
    kind = ready["type"]
    if kind == "coupon":
        coupon = personal.coupons.get(int(ready.get("template") or 0)) or {}
        ready["coupon"] = coupon
        ready["title"] = ready.get("title") or coupon.get("name", "")
    elif kind == "recommendations":
        ready["products"] = personal.recommendations[: int(ready.get("count") or 3)]
        ready["title"] = ready.get("title") or _("Picked for you")
    elif kind == "footer":
        ready["unsubscribe_url"] = unsubscribe_url
        ready["unsubscribe_label"] = ready.get("unsubscribe_label") or _("Unsubscribe")
    return ready


def _text_of(block: Mapping[str, Any]) -> str:
    kind = block["type"]
    if kind in ("heading", "text"):
        return str(block.get("text", ""))
    if kind == "image":
        return f"[{block['alt']}] {block.get('link', '')}".strip() if block.get("alt") else ""
    if kind == "button":
        return f"{block['label']}: {block['url']}"
    if kind == "coupon":
        coupon = block["coupon"]
        lines = [str(block["title"]), str(coupon.get("value", ""))]
        if coupon.get("code"):
            lines.append(_("Code: %(code)s") % {"code": coupon["code"]})
        if coupon.get("expires_at"):
            lines.append(_("Valid until %(date)s") % {"date": coupon["expires_at"]})
        return "\n".join(line for line in lines if line)
    if kind == "recommendations":
        lines = [str(block["title"])]
        for product in block["products"]:
            reason = f" ({product['reason']})" if block.get("show_reasons") and product.get("reason") else ""
            link = f" {product['url']}" if product.get("url") else ""
            lines.append(f"- {product['name']}, {product['price']}{reason}{link}")
        return "\n".join(lines) if block["products"] else ""
    if kind == "divider":
        return "----"
    if kind == "footer":
        lines = [str(block.get("text", ""))]
        if block.get("unsubscribe_url"):
            lines.append(f"{block['unsubscribe_label']}: {block['unsubscribe_url']}")
        return "\n".join(line for line in lines if line)
    return ""


def render(
    blocks: Iterable[Mapping[str, Any]], personal: Personal, *, subject: str, unsubscribe_url: str
) -> RenderedEmail:
    """The email's HTML (table layout, inline styles, one column that narrows on a phone) and text."""
    prepared = [_prepared(block, personal, unsubscribe_url) for block in with_footer([dict(b) for b in blocks])]
    html = render_to_string(
        "campaigns/email/message.html", {"blocks": prepared, "subject": fill(subject, personal.fields)}
    )
    text = "\n\n".join(part for part in (_text_of(block) for block in prepared) if part)
    return RenderedEmail(html=html, text=text + "\n")


def check_subject(subject: str) -> list[FieldError]:
    """A block email's subject may hold the same tokens as its blocks, and no others."""
    unknown = sorted({m.group(1) for m in TOKEN.finditer(subject)} - set(PERSONAL_FIELDS))
    if not unknown:
        return []
    return [
        FieldError(
            "subject", "unknown_variable", f"unknown {', '.join(unknown)}; pick from {', '.join(PERSONAL_FIELDS)}"
        )
    ]
