"""Which file column feeds which field: explicit mapping first, then names and built-in aliases.

Headers are compared after normalising (case, spaces, ``_``/``-``), so ``Phone Number``,
``phone_number`` and ``PHONE-NUMBER`` are one name. Chinese headers from common shop and
spreadsheet exports are built in (手机号 → phone, 订单号 → external_id, 金额 → total …).
Customers' columns named after a custom field (its key or its label) fill that custom field.
Every other column is reported once as ignored.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rapport.core.errors import InvalidInput
from rapport.imports.readers import UnusableFile

CUSTOMERS, ORDERS, PRODUCTS, REFUNDS = "customers", "orders", "products", "refunds"
KINDS: tuple[str, ...] = (CUSTOMERS, ORDERS, PRODUCTS, REFUNDS)  # and those rapport.imports.kinds registers
CUSTOM_PREFIX = "custom_fields."
IGNORE_TARGETS = {"", "-", "ignore", "skip", "忽略"}

# Target fields per kind, in the order they are listed in messages.
FIELDS: dict[str, list[str]] = {
    CUSTOMERS: [
        "external_id",
        "channel",
        "name",
        "gender",
        "birthday",
        "phone",
        "email",
        "id_number",
        "city",
        "member_status",
        "registered_at",
        "registration_channel",
        "store",
        "owner",
    ],
    ORDERS: [
        "external_id",
        "channel",
        "customer_external_id",
        "rapport_customer_id",
        "store",
        "status",
        "currency",
        "placed_at",
        "total",
        "discount_total",
        "shipping_total",
        "sku",
        "product_name",
        "quantity",
        "unit_price",
    ],
    PRODUCTS: ["sku", "name", "category", "price", "currency", "is_active"],
    REFUNDS: ["external_id", "order_external_id", "channel", "amount", "refunded_at", "reason"],
}

# The column a file cannot do without, per kind.
KEY_FIELD = {CUSTOMERS: "external_id", ORDERS: "external_id", PRODUCTS: "sku", REFUNDS: "external_id"}

_COMMON_CUSTOMER = {
    "external_id": [
        "customer_id",
        "customer_no",
        "customer_number",
        "member_id",
        "member_no",
        "user_id",
        "buyer_id",
        "id",
        "客户id",
        "客户编号",
        "客户编码",
        "会员id",
        "会员编号",
        "会员号",
        "会员卡号",
        "用户id",
        "用户编号",
        "买家id",
        "外部id",
    ],
}

ALIASES: dict[str, dict[str, list[str]]] = {
    CUSTOMERS: {
        **_COMMON_CUSTOMER,
        "channel": ["source", "渠道", "来源渠道"],
        "name": ["full_name", "customer_name", "member_name", "姓名", "名字", "客户姓名", "会员姓名", "客户名称"],
        "gender": ["sex", "性别"],
        "birthday": ["birth_date", "date_of_birth", "dob", "生日", "出生日期"],
        "phone": [
            "mobile",
            "mobile_phone",
            "phone_number",
            "tel",
            "telephone",
            "cellphone",
            "手机",
            "手机号",
            "手机号码",
            "电话",
            "联系电话",
            "电话号码",
        ],
        "email": ["e_mail", "mail", "email_address", "邮箱", "电子邮箱", "电子邮件", "邮件"],
        "id_number": ["id_card", "身份证", "身份证号", "身份证号码", "证件号", "证件号码"],
        "city": ["城市", "所在城市"],
        "member_status": ["status", "会员状态", "状态"],
        "registered_at": ["registered", "registration_date", "signup_date", "created_at", "注册时间", "注册日期"],
        "registration_channel": ["注册渠道"],
        "store": ["store_code", "shop", "门店", "所属门店", "门店编码", "店铺"],
        "owner": ["owner_username", "sales", "归属", "负责人", "客户经理", "所属员工", "导购"],
    },
    ORDERS: {
        "external_id": [
            "order_id",
            "order_no",
            "order_number",
            "order",
            "订单号",
            "订单编号",
            "订单id",
            "外部订单号",
        ],
        "channel": ["source", "渠道", "来源渠道", "销售渠道"],
        "customer_external_id": _COMMON_CUSTOMER["external_id"],
        "rapport_customer_id": ["rapport_id", "rapport_customer"],
        "store": ["store_code", "shop", "门店", "门店编码", "店铺"],
        "status": ["order_status", "订单状态", "状态", "交易状态"],
        "currency": ["币种", "货币"],
        "placed_at": [
            "date",
            "order_date",
            "ordered_at",
            "created_at",
            "order_time",
            "下单时间",
            "下单日期",
            "订单时间",
            "创建时间",
            "付款时间",
            "日期",
        ],
        "total": [
            "amount",
            "order_total",
            "total_amount",
            "paid",
            "paid_amount",
            "dollar_value",
            "金额",
            "订单金额",
            "实付金额",
            "实付款",
            "总金额",
            "付款金额",
            "应付金额",
        ],
        "discount_total": ["discount", "优惠", "优惠金额", "折扣", "折扣金额"],
        "shipping_total": ["shipping", "shipping_fee", "freight", "运费"],
        "sku": ["sku_code", "product_sku", "item_sku", "商品编码", "商品sku", "货号", "商家编码", "sku编码"],
        "product_name": ["item_name", "product", "商品名称", "商品名", "商品", "宝贝标题", "品名"],
        "quantity": ["qty", "count", "number_of_cds", "items", "数量", "购买数量", "商品数量", "件数"],
        "unit_price": ["price", "item_price", "单价", "商品单价", "价格"],
        "shipping_address": ["address", "delivery_address", "收货地址", "收件地址", "配送地址", "地址"],
    },
    REFUNDS: {
        "external_id": ["refund_id", "refund_no", "return_id", "退款单号", "退款编号", "售后单号", "退货单号"],
        "order_external_id": ["order_id", "order_no", "order_number", "order", "订单号", "订单编号", "原订单号"],
        "channel": ["source", "渠道", "来源渠道", "销售渠道"],
        "amount": ["refund_amount", "refunded", "退款金额", "金额", "退款"],
        "refunded_at": ["refund_date", "refund_time", "date", "退款时间", "退款日期", "完成时间"],
        "reason": ["refund_reason", "退款原因", "原因", "售后原因"],
    },
    PRODUCTS: {
        "sku": ["sku_code", "product_sku", "item_sku", "商品编码", "商品sku", "货号", "商家编码", "sku编码"],
        "name": ["product_name", "item_name", "title", "商品名称", "商品名", "名称", "品名", "宝贝标题"],
        "category": ["category_code", "类目", "分类", "品类", "商品分类"],
        "price": ["unit_price", "list_price", "价格", "售价", "单价", "零售价"],
        "currency": ["币种", "货币"],
        "is_active": ["active", "enabled", "on_sale", "是否上架", "上架", "启用"],
    },
}


def normalise_header(text: str) -> str:
    return re.sub(r"[\s_\-./:：（）()]+", "_", text.replace("\ufeff", "").strip().lower()).strip("_")


@dataclass
class ColumnPlan:
    """Where each column of one file goes."""

    kind: str
    header: list[str]
    # column index → target field (``custom_fields.<key>`` for custom fields)
    targets: dict[int, str] = field(default_factory=dict)
    # (column name, reason) of every column that is not imported
    ignored: list[tuple[str, str]] = field(default_factory=list)

    def values(self, row: list[str]) -> dict[str, str]:
        """Target field → text, for the non-blank cells of a row."""
        return {target: row[index] for index, target in self.targets.items() if index < len(row) and row[index] != ""}

    def column_of(self, target: str) -> str | None:
        for index, name in self.targets.items():
            if name == target:
                return self.header[index]
        return None

    @property
    def fields(self) -> set[str]:
        return set(self.targets.values())

    def describe(self) -> list[tuple[str, str]]:
        return [(self.header[i], t) for i, t in sorted(self.targets.items())]


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """``["手机=phone", "姓名=name,邮箱=email"]`` → ``{"手机": "phone", ...}``."""
    mapping: dict[str, str] = {}
    for item in items:
        for part in item.split(","):
            if not part.strip():
                continue
            source, sep, target = part.partition("=")
            if not sep or not source.strip():
                raise UnusableFile(f"bad mapping {part!r}: write COLUMN=FIELD, e.g. 手机=phone")
            mapping[source.strip()] = target.strip()
    return mapping


def _alias_index(kind: str) -> dict[str, str]:
    index: dict[str, str] = {}
    for target in FIELDS[kind]:
        index.setdefault(normalise_header(target), target)
    for target, aliases in ALIASES[kind].items():
        for alias in aliases:
            index.setdefault(normalise_header(alias), target)
    return index


def _explicit_target(kind: str, raw: str, custom: Mapping[str, str]) -> str | None:
    """The field a mapping sends a column to (None: ignore the column)."""
    target = raw.strip()
    if target.lower() in IGNORE_TARGETS:
        return None
    if target in FIELDS[kind]:
        return target
    key = target.removeprefix(CUSTOM_PREFIX)
    if key in custom:
        return CUSTOM_PREFIX + key
    choices = ", ".join(FIELDS[kind] + [CUSTOM_PREFIX + k for k in custom])
    raise UnusableFile(f"mapping names unknown field {raw!r} for {kind}; known fields: {choices}")


def _explicit_targets(
    kind: str, header: list[str], mapping: Mapping[str, str], custom: Mapping[str, str]
) -> dict[int, str | None]:
    """Column index → target for the columns the mapping names (exactly, or as a header reads normalised)."""
    by_exact = {name: i for i, name in reversed(list(enumerate(header)))}
    by_normal = {normalise_header(name): i for i, name in reversed(list(enumerate(header)))}
    explicit: dict[int, str | None] = {}
    for source, wanted in mapping.items():
        index = by_exact.get(source)
        if index is None:
            index = by_normal.get(normalise_header(source))
        if index is None:
            raise UnusableFile(f"mapping names column {source!r}, which the file does not have; columns: {header}")
        explicit[index] = _explicit_target(kind, wanted, custom)
    return explicit


def plan_columns(
    kind: str,
    header: list[str],
    mapping: Mapping[str, str] | None = None,
    *,
    custom_fields: Mapping[str, str] | None = None,
) -> ColumnPlan:
    """Decide the target of every column. ``custom_fields`` maps key → label (customers only).

    Raises :class:`UnusableFile` for a mapping that names an unknown column or field, and when
    no column supplies the kind's key field.
    """
    if kind not in FIELDS:
        raise UnusableFile(f"unknown import kind {kind!r}; one of: {', '.join(KINDS)}")
    plan = ColumnPlan(kind, list(header))
    custom = dict(custom_fields or {}) if kind == CUSTOMERS else {}
    custom_by_name: dict[str, str] = {}
    for key, label in custom.items():
        custom_by_name.setdefault(normalise_header(key), key)
        if label:
            custom_by_name.setdefault(normalise_header(label), key)
    explicit = _explicit_targets(kind, header, mapping or {}, custom)

    aliases = _alias_index(kind)
    taken: dict[str, int] = {}
    # Explicit choices claim their targets first, then columns in file order.
    for index, chosen in explicit.items():
        if chosen is None:
            plan.ignored.append((header[index], "ignored by the column mapping"))
        elif chosen in taken:
            raise UnusableFile(f"mapping sends both {header[taken[chosen]]!r} and {header[index]!r} to {chosen!r}")
        else:
            taken[chosen] = index
            plan.targets[index] = chosen
    for index, name in enumerate(header):
        if index in explicit:
            continue
        if not name:
            plan.ignored.append((f"(column {index + 1})", "the column has no header"))
            continue
        normal = normalise_header(name)
        target = aliases.get(normal)
        if target is None and normal in custom_by_name:
            target = CUSTOM_PREFIX + custom_by_name[normal]
        if target is None:
            plan.ignored.append((name, "no field of this name"))
        elif target in taken:
            plan.ignored.append((name, f"{target} already comes from column {header[taken[target]]!r}"))
        else:
            taken[target] = index
            plan.targets[index] = target

    key = KEY_FIELD[kind]
    if key not in taken:
        expected = ", ".join([key, *ALIASES[kind].get(key, [])[:8]])
        raise UnusableFile(
            f"no column for the key field {key!r} of {kind}: expected a column named like {expected}; "
            f"or map one with --map COLUMN={key}. Columns found: {', '.join(header)}"
        )
    return plan


# Values -------------------------------------------------------------------------------------
# Spreadsheet exports write genders, statuses and yes/no in words; these become field values.
# A value not listed here goes to the cleaner unchanged, which names it in its error.

GENDERS = {
    "男": "male",
    "女": "female",
    "m": "male",
    "f": "female",
    "男性": "male",
    "女性": "female",
    "未知": "",
    "保密": "",
    "unknown": "",
    "其他": "other",
}
MEMBER_STATUSES = {
    "会员": "member",
    "正式会员": "member",
    "潜客": "prospect",
    "潜在客户": "prospect",
    "非活跃": "inactive",
    "沉睡": "inactive",
    "黑名单": "blocked",
    "已冻结": "blocked",
    "冻结": "blocked",
}
ORDER_STATUSES = {
    "待付款": "pending",
    "待支付": "pending",
    "未付款": "pending",
    "已付款": "paid",
    "已支付": "paid",
    "待发货": "paid",
    "买家已付款": "paid",
    "已发货": "shipped",
    "卖家已发货": "shipped",
    "已完成": "completed",
    "交易成功": "completed",
    "已签收": "completed",
    "已取消": "cancelled",
    "交易关闭": "cancelled",
    "已关闭": "cancelled",
    # marketplace exports (rapport.imports.presets): Taobao/Tmall, JD, Shopify, WooCommerce
    "等待买家付款": "pending",
    "买家已付款，等待卖家发货": "paid",
    "卖家已发货，等待买家确认": "shipped",
    "等待付款": "pending",
    "等待出库": "paid",
    "等待确认收货": "shipped",
    "完成": "completed",
    "authorized": "pending",
    "partially_paid": "pending",
    "voided": "cancelled",
    "pending payment": "pending",
    "on hold": "pending",
    "processing": "paid",
    "failed": "cancelled",
    # exports that capitalise the codes (WooCommerce's "Completed")
    **{status: status for status in ("pending", "paid", "shipped", "completed", "cancelled", "refunded")},
}
TRUE_WORDS = {"1", "true", "yes", "y", "t", "是", "上架", "启用", "有效", "on"}
FALSE_WORDS = {"0", "false", "no", "n", "f", "否", "下架", "停用", "无效", "off"}

_DATE_TIME = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]+(\d{1,2})[:：](\d{2})(?:[:：](\d{2})(?:\.(\d{1,6}))?)?)?$"
)
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def word(value: str, table: Mapping[str, str]) -> str:
    return table.get(value.strip().lower(), table.get(value.strip(), value))


def parse_bool(value: str) -> bool | None:
    text = value.strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    return None


def date_text(value: str) -> str:
    """``2025/3/1``, ``2025年3月1日``, ``20250301`` → ``2025-03-01``; anything else unchanged."""
    match = _COMPACT_DATE.match(value) or _DATE_TIME.match(value)
    if not match:
        return value
    year, month, day = (int(part) for part in match.groups()[:3])
    return f"{year:04d}-{month:02d}-{day:02d}"


def datetime_text(value: str, time_zone: str) -> str:
    """A date-time without an offset is taken in ``time_zone`` (the shop's), as exports write it.

    ``2025/3/1 10:30``, ``2025-03-01 10:30:00``, ``20250301`` become ISO 8601 with the offset;
    text with its own offset (or that is no date at all) goes to the cleaner unchanged.
    """
    moment = local_datetime(value, time_zone)
    return value if moment is None else moment.isoformat()


def local_datetime(value: str, time_zone: str) -> dt.datetime | None:
    """:func:`datetime_text`'s moment as an aware datetime (None where it keeps the text): the
    cleaners take either, and the bulk path skips writing and re-reading the ISO text."""
    text = value.strip()
    match = _COMPACT_DATE.match(text) or _DATE_TIME.match(text)
    if not match:
        return None
    groups = match.groups()
    if len(groups) == 3:
        year, month, day, hour, minute, second, micro = int(groups[0]), int(groups[1]), int(groups[2]), 0, 0, 0, 0
    else:
        year, month, day = int(groups[0]), int(groups[1]), int(groups[2])
        hour, minute, second = int(groups[3] or 0), int(groups[4] or 0), int(groups[5] or 0)
        micro = int(groups[6].ljust(6, "0")) if groups[6] else 0
    try:
        return dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=zoneinfo.ZoneInfo(time_zone))
    except ValueError:
        return None


def customer_data(values: dict[str, str], *, channel: str, time_zone: str) -> tuple[str, str, dict[str, Any]]:
    """A customers file's mapped row as the customer services take it: channel, external id and
    the profile (words such as 男/female read as codes, dates in the job's time zone, custom
    fields apart). Both the set-based engine and the live path read rows through it."""
    external_id = values.pop("external_id", "")
    channel = values.pop("channel", "") or channel
    if not external_id:
        raise InvalidInput.single("external_id", "required", "the customer's id in the channel is missing")
    if len(external_id) > 128 or len(channel) > 40:
        raise InvalidInput.single("external_id", "invalid", "an id of at most 128 characters, channel at most 40")
    data: dict[str, Any] = {}
    custom: dict[str, str] = {}
    for target, value in values.items():
        if target.startswith(CUSTOM_PREFIX):
            custom[target.removeprefix(CUSTOM_PREFIX)] = value
        elif target == "gender":
            data[target] = word(value, GENDERS)
        elif target == "member_status":
            data[target] = word(value, MEMBER_STATUSES)
        elif target == "birthday":
            data[target] = date_text(value)
        elif target == "registered_at":
            data[target] = datetime_text(value, time_zone)
        else:
            data[target] = value
    if custom:
        data["custom_fields"] = custom
    return channel, external_id, data
