"""Column mappings for the exports merchants have: Tmall/Taobao, JD, Youzan, Shopify, WooCommerce.

A preset names the columns of a platform's export as the platform writes them and sends each to a
field; a column the file does not have is skipped, so older and newer versions of an export both
work, and anything the preset does not name goes through the usual names and aliases. A mapping
given with the job (``--map``) wins over the preset.

Marketplaces mask their buyers' contact data (``138****1234``, masked names, OAID): those
columns are ignored, never stored as phones or names, and customers are never matched on them;
the buyer's account name on the platform (``买家会员名``, ``下单帐号``) is kept as the customer's id
in the job's channel (and, having no other, as their name). Taobao and JD export no customer list:
their order export, imported as customers with the same preset, creates the buyers first (a
buyer's later orders are reported as repeated keys in that pass, and change nothing).

A preset may also copy a column into a second field (``copies``): Shopify's customers are keyed
by their email, which is also their email address, so that Shopify's order export (which names
its customer only by email) finds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from rapport.imports import mapping as m
from rapport.imports.readers import UnusableFile

IGNORE = "-"


@dataclass(frozen=True)
class Preset:
    label: str
    # kind → {column as exported: field, or IGNORE}
    columns: dict[str, dict[str, str]]
    # kind → {column: a second field it also fills}
    copies: dict[str, dict[str, str]] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    "taobao": Preset(
        "Tmall / Taobao (淘宝/天猫 订单报表)",
        {
            # the buyers of the order report: Taobao exports no customer list of its own
            m.CUSTOMERS: {
                "买家会员名": "external_id",
                "联系手机": IGNORE,
                "联系电话": IGNORE,
                "收货人姓名": IGNORE,
                "收货地址": IGNORE,
                "买家支付宝账号": IGNORE,
                "店铺名称": IGNORE,
            },
            m.ORDERS: {
                "订单编号": "external_id",
                "买家会员名": "customer_external_id",
                "订单状态": "status",
                "订单创建时间": "placed_at",
                "买家实际支付金额": "total",
                "买家应付邮费": "shipping_total",
                "宝贝标题": "product_name",
                "宝贝总数量": "quantity",
                "总金额": IGNORE,
                "联系手机": IGNORE,
                "联系电话": IGNORE,
                "收货人姓名": IGNORE,
                "收货地址": IGNORE,
                "买家支付宝账号": IGNORE,
                "店铺名称": IGNORE,
            },
        },
        copies={m.CUSTOMERS: {"买家会员名": "name"}},
    ),
    "jd": Preset(
        "JD (京东 订单导出)",
        {
            m.CUSTOMERS: {
                "下单帐号": "external_id",
                "客户姓名": IGNORE,
                "客户地址": IGNORE,
                "联系电话": IGNORE,
            },
            m.ORDERS: {
                "订单号": "external_id",
                "下单帐号": "customer_external_id",
                "订单状态": "status",
                "下单时间": "placed_at",
                "应付金额": "total",
                "运费金额": "shipping_total",
                "商品ID": "sku",
                "商品名称": "product_name",
                "订购数量": "quantity",
                "京东价": "unit_price",
                "订单金额": IGNORE,
                "客户姓名": IGNORE,
                "客户地址": IGNORE,
                "联系电话": IGNORE,
            },
        },
        copies={m.CUSTOMERS: {"下单帐号": "name"}},
    ),
    "youzan": Preset(
        "Youzan (有赞 客户/订单导出)",
        {
            m.CUSTOMERS: {
                "手机号": "external_id",
                "客户姓名": "name",
                "性别": "gender",
                "生日": "birthday",
                "所在城市": "city",
                "成为客户时间": "registered_at",
                "微信昵称": IGNORE,
                "会员等级": IGNORE,
                "积分": IGNORE,
                "储值余额": IGNORE,
            },
            m.ORDERS: {
                "订单号": "external_id",
                "买家手机号": "customer_external_id",
                "订单状态": "status",
                "订单创建时间": "placed_at",
                "订单实付金额": "total",
                "运费": "shipping_total",
                "商品编码": "sku",
                "商品名称": "product_name",
                "商品数量": "quantity",
                "商品单价": "unit_price",
                "收货人/提货人": IGNORE,
                "收货人手机号/提货人手机号": IGNORE,
                "详细收货地址/提货地址": IGNORE,
            },
        },
        copies={m.CUSTOMERS: {"手机号": "phone"}},
    ),
    "shopify": Preset(
        "Shopify",
        {
            m.CUSTOMERS: {
                "Email": "external_id",
                "First Name": "name",
                "Phone": "phone",
                "Default Address City": "city",
                "Customer ID": IGNORE,
                "Default Address Phone": IGNORE,
                "Total Spent": IGNORE,
                "Total Orders": IGNORE,
            },
            m.ORDERS: {
                "Name": "external_id",
                "Email": "customer_external_id",
                "Financial Status": "status",
                "Created at": "placed_at",
                "Currency": "currency",
                "Total": "total",
                "Discount Amount": "discount_total",
                "Shipping": "shipping_total",
                "Lineitem sku": "sku",
                "Lineitem name": "product_name",
                "Lineitem quantity": "quantity",
                "Lineitem price": "unit_price",
                "Id": IGNORE,
                "Phone": IGNORE,
                "Billing Phone": IGNORE,
                "Shipping Phone": IGNORE,
                "Source": IGNORE,
            },
        },
        copies={m.CUSTOMERS: {"Email": "email"}},
    ),
    "woocommerce": Preset(
        "WooCommerce",
        {
            m.CUSTOMERS: {
                "Username": "external_id",
                "Name": "name",
                "Email": "email",
                "City": "city",
                "Sign Up": "registered_at",
                "Orders": IGNORE,
                "Total Spend": IGNORE,
            },
            m.ORDERS: {
                "Order Number": "external_id",
                "Customer Username": "customer_external_id",
                "Order Status": "status",
                "Order Date": "placed_at",
                "Order Total Amount": "total",
                "Cart Discount Amount": "discount_total",
                "Order Shipping Amount": "shipping_total",
                "SKU": "sku",
                "Item Name": "product_name",
                "Quantity (- Refund)": "quantity",
                "Item Cost": "unit_price",
                "Phone (Billing)": IGNORE,
                "Email (Billing)": IGNORE,
            },
        },
    ),
}


def choices() -> list[tuple[str, str]]:
    return [(name, preset.label) for name, preset in PRESETS.items()]


def check(name: str, kind: str) -> None:
    """Raise :class:`UnusableFile` for an unknown preset, or one without a mapping for ``kind``."""
    if not name:
        return
    preset = PRESETS.get(name)
    if preset is None:
        raise UnusableFile(f"unknown preset {name!r}; one of: {', '.join(PRESETS)}")
    if kind not in preset.columns:
        kinds = ", ".join(preset.columns)
        raise UnusableFile(f"the {preset.label} preset maps {kinds} exports, not {kind}")


def plan(
    name: str,
    kind: str,
    header: list[str],
    mapping: Mapping[str, str] | None,
    *,
    custom_fields: Mapping[str, str] | None = None,
) -> m.ColumnPlan:
    """The file's column plan: the preset's columns the header has, then the job's own mapping."""
    if not name:
        return m.plan_columns(kind, header, mapping, custom_fields=custom_fields)
    check(name, kind)
    preset = PRESETS[name]
    present = {m.normalise_header(column): column for column in header}
    chosen = {
        present[m.normalise_header(column)]: target
        for column, target in preset.columns[kind].items()
        if m.normalise_header(column) in present
    }
    chosen.update(mapping or {})
    column_plan = m.plan_columns(kind, header, chosen, custom_fields=custom_fields)
    copies = {
        index: preset.copies[kind][column]
        for column in preset.copies.get(kind, {})
        for index, name_ in enumerate(header)
        if m.normalise_header(name_) == m.normalise_header(column)
    }
    if not copies:
        return column_plan
    return CopyingPlan(column_plan.kind, column_plan.header, column_plan.targets, column_plan.ignored, copies=copies)


@dataclass
class CopyingPlan(m.ColumnPlan):
    """A plan where some columns also fill a second field (see ``Preset.copies``)."""

    copies: dict[int, str] = field(default_factory=dict)

    def values(self, row: list[str]) -> dict[str, str]:
        values = super().values(row)
        for index, target in self.copies.items():
            if index < len(row) and row[index] != "" and target not in values:
                values[target] = row[index]
        return values

    def describe(self) -> list[tuple[str, str]]:
        return [*super().describe(), *((self.header[i], t) for i, t in sorted(self.copies.items()))]
