"""Plan the demo shop in memory: customers, their identities and addresses, orders and refunds.

Everything follows from the seed (and the last day of the window), so the same seed gives the
same shop. Buying follows a zero-inflated Pareto/NBD-like model: some people register and never
buy, about half of the buyers never come back, and the rest buy at a gamma-distributed rate
(a heavy tail: a loyal core buys every week or two) until they silently drop out after an
exponentially distributed lifetime. Rates are calibrated so the total lands near the target,
and order dates follow the retail calendar of :mod:`.calendar`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import random
import re
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from faker import Faker

from rapport.commerce.models import COUNTED_STATUSES, OrderStatus
from rapport.customers.models import Channel, Gender, MemberStatus
from rapport.demo import calendar
from rapport.demo.catalogue import (
    CATEGORIES,
    CITIES,
    CITY_BY_NAME,
    ONLINE_STORE,
    STORE_BY_CITY,
    ProductSpec,
    build_products,
)

ORDERS_PER_CUSTOMER = 12
WINDOW_DAYS = 730  # orders over the last two years
HISTORY_DAYS = 365  # some members registered the year before
SHOP_TIME_ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")

BUYER_SHARE = 0.9  # the rest register and never buy
RETURNING_SHARE = 0.5  # of buyers: the others never come back after the first order
RATE_SHAPE = 0.8  # gamma shape of the repeat rate across customers: smaller is more heavy-tailed
MAX_DAILY_RATE = 0.25  # nobody buys more than every four days on average
MEAN_LIFETIME_DAYS = 500.0
ENGLISH_NAME_SHARE = 0.12
SALES_OWNED_SHARE = 0.08  # the best customers by net spend are looked after by sales staff

# Order channels, the identity each leaves behind, and the registration channel it implies.
ONLINE_CHANNELS = ["tmall", "jd", "wechat", "web", "app", "douyin"]
POS = "pos"
REGISTRATION_CHANNELS: list[tuple[str, float, list[tuple[str, float]]]] = [
    (Channel.MARKETPLACE, 0.35, [("tmall", 0.75), ("jd", 0.25)]),
    (Channel.MINI_PROGRAM, 0.25, [("wechat", 1.0)]),
    (Channel.STORE, 0.20, [(POS, 1.0)]),
    (Channel.WEB, 0.08, [("web", 1.0)]),
    (Channel.APP, 0.07, [("app", 1.0)]),
    (Channel.SOCIAL, 0.05, [("douyin", 1.0)]),
]
SECONDARY_ONLINE = [("tmall", 0.3), ("wechat", 0.3), ("jd", 0.12), ("app", 0.12), ("web", 0.08), ("douyin", 0.08)]
PRIMARY_CHANNEL_SHARE = 0.75
ONLINE_HOURS_CUM = list(itertools.accumulate(calendar.ONLINE_HOURS))
STORE_HOURS_CUM = list(itertools.accumulate(calendar.STORE_HOURS))

SKIN_TYPES = ["干性 Dry", "油性 Oily", "混合 Combination", "敏感 Sensitive", "中性 Normal"]
CUSTOM_FIELDS: list[dict[str, Any]] = [
    {"key": "member_since", "label": "入会日期 Member since", "field_type": "date", "position": 1},
    {
        "key": "favourite_category",
        "label": "偏好品类 Favourite category",
        "field_type": "choice",
        "choices": [c.name for c in CATEGORIES],
        "position": 2,
    },
    {
        "key": "preferred_contact",
        "label": "首选联系方式 Preferred contact",
        "field_type": "choice",
        "choices": ["微信 WeChat", "短信 SMS", "电话 Phone", "邮件 Email"],
        "position": 3,
    },
    {
        "key": "skin_type",
        "label": "肤质 Skin type",
        "field_type": "choice",
        "choices": SKIN_TYPES,
        "position": 4,
    },
    {"key": "marketing_opt_in", "label": "接收营销信息 Marketing opt-in", "field_type": "boolean", "position": 5},
]

MOBILE_PREFIXES = [
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155",
    "156", "157", "158", "159", "166", "173", "176", "177", "180", "181", "182", "183", "185", "186",
    "187", "188", "189", "191", "198", "199",
]  # fmt: skip
# First six digits of resident ID numbers (a district of each city).
ID_AREA = {
    "上海": "310106", "北京": "110105", "广州": "440106", "深圳": "440305", "成都": "510107",
    "杭州": "330106", "南京": "320106", "武汉": "420103", "重庆": "500103", "西安": "610113",
    "苏州": "320508", "天津": "120101", "长沙": "430104", "厦门": "350203",
}  # fmt: skip
OFFICE_BUILDINGS = ["国贸大厦", "环球金融中心", "世纪广场", "财富中心", "科技园A座", "创意产业园", "万象城写字楼"]
REFUND_REASONS_FULL = ["七天无理由退货", "质量问题", "尺码/色号不合适", "发错货", "商品与描述不符"]
REFUND_REASONS_PARTIAL = ["部分商品退货", "价格保护补差", "商品破损补偿", "少发漏发"]


@dataclass(slots=True)
class AddressPlan:
    label: str
    recipient: str
    phone: str
    province: str
    city: str
    district: str
    line1: str
    line2: str
    postal_code: str
    is_default: bool


@dataclass(slots=True)
class CustomerPlan:
    name: str
    gender: str
    birthday: dt.date | None
    phone: str  # E.164, or "" when unknown
    email: str
    id_number: str
    city: str
    registered_at: dt.datetime
    registration_channel: str
    store: str  # store code
    member_status: str = MemberStatus.MEMBER
    owned_by_sales: bool = False
    custom_fields: dict[str, Any] = field(default_factory=dict)
    identities: list[tuple[str, str]] = field(default_factory=list)
    addresses: list[AddressPlan] = field(default_factory=list)


@dataclass(slots=True)
class RefundPlan:
    external_id: str
    amount: int  # cents
    reason: str
    refunded_at: dt.datetime


@dataclass(slots=True)
class OrderPlan:
    customer: int  # index into DemoShopPlan.customers
    channel: str
    store: str
    placed_at: dt.datetime
    lines: list[tuple[int, int]]  # (index into DemoShopPlan.products, quantity)
    subtotal: int  # cents, like every amount here
    discount: int
    shipping: int
    total: int
    status: str = OrderStatus.COMPLETED
    external_id: str = ""
    refund: RefundPlan | None = None

    @property
    def refunded(self) -> int:
        return self.refund.amount if self.refund else 0


@dataclass(slots=True)
class DemoShopPlan:
    seed: int
    end: dt.date  # first day after the window, in the shop's time zone
    products: list[ProductSpec]
    customers: list[CustomerPlan]
    orders: list[OrderPlan]


def default_end() -> dt.date:
    """Today in the shop's time zone: the first day after the window, which ends with yesterday."""
    return dt.datetime.now(SHOP_TIME_ZONE).date()


def plan_demo_shop(
    *, seed: int, customers: int = 5000, orders: int | None = None, end: dt.date | None = None
) -> DemoShopPlan:
    """The whole demo shop for this seed; ``orders`` defaults to twelve per customer."""
    if customers < 1:
        raise ValueError("the demo shop needs at least one customer")
    end = end or default_end()
    target = ORDERS_PER_CUSTOMER * customers if orders is None else orders
    planner = _Planner(seed=seed, customers=customers, end=end)
    people = planner.people()
    order_list = planner.orders(people, target)
    planner.finish_customers(people, order_list)
    return DemoShopPlan(seed=seed, end=end, products=planner.products, customers=people, orders=order_list)


class _Planner:
    def __init__(self, *, seed: int, customers: int, end: dt.date) -> None:
        self.n = customers
        self.end = end
        self.start = end - dt.timedelta(days=WINDOW_DAYS)
        self.start_utc = dt.datetime.combine(self.start, dt.time(), tzinfo=SHOP_TIME_ZONE).astimezone(dt.UTC)
        self.np = np.random.default_rng(seed)
        self.py = random.Random(seed)
        self.zh = Faker("zh_CN")
        self.zh.seed_instance(seed)
        self.en = Faker("en_US")
        self.en.seed_instance(seed)
        self.products = build_products(random.Random(seed))
        self.product_cum = list(np.cumsum([p.popularity for p in self.products]))
        self.by_category: dict[str, tuple[list[int], list[float]]] = {}
        for code in (c.code for c in CATEGORIES):
            indexes = [i for i, p in enumerate(self.products) if p.category == code]
            self.by_category[code] = (indexes, list(np.cumsum([self.products[i].popularity for i in indexes])))
        # Seasonal time: cumulative calendar weight from the start of the registration history.
        weights = calendar.daily_weights(self.start - dt.timedelta(days=HISTORY_DAYS), HISTORY_DAYS + WINDOW_DAYS)
        weights /= weights[HISTORY_DAYS:].mean()
        self.cum_weight = np.concatenate([[0.0], np.cumsum(weights)])
        self.day_grid = np.arange(HISTORY_DAYS + WINDOW_DAYS + 1, dtype=float) - HISTORY_DAYS
        self.used_phones: set[str] = set()
        self.used_emails: set[str] = set()
        self.used_external: set[tuple[str, str]] = set()
        # Per customer, filled by people(): the numbers the order model needs.
        self.favourite: list[str] = []
        self.primary_channels: list[list[tuple[str, float]]] = []
        self.registered_days: npt.NDArray[np.float64] = np.empty(0)

    # Seasonal time <-> days since the window start -------------------------------------------

    def seasonal(self, days: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.interp(days, self.day_grid, self.cum_weight)

    def calendar_days(self, seasonal: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.interp(seasonal, self.cum_weight, self.day_grid)

    def at(self, day: int, seconds: int) -> dt.datetime:
        # Asia/Shanghai keeps no daylight saving, so local days are exactly 86,400 s apart.
        return self.start_utc + dt.timedelta(days=day, seconds=seconds)

    # People ------------------------------------------------------------------------------------

    def people(self) -> list[CustomerPlan]:
        rng, py = self.np, self.py
        # Registrations follow the calendar too (11.11 brings new members), oldest first.
        registered = np.sort(self.calendar_days(rng.uniform(0, self.cum_weight[-1], self.n)))
        self.registered_days = registered
        channel_names = [c[0] for c in REGISTRATION_CHANNELS]
        channel_index = rng.choice(len(REGISTRATION_CHANNELS), self.n, p=[c[1] for c in REGISTRATION_CHANNELS])
        city_weights = np.array([c.weight for c in CITIES])
        city_index = rng.choice(len(CITIES), self.n, p=city_weights / city_weights.sum())
        store_cities = list(STORE_BY_CITY)
        people = []
        for i in range(self.n):
            registration_channel = channel_names[channel_index[i]]
            city = CITIES[city_index[i]].name
            if registration_channel == Channel.STORE:
                city = store_cities[py.randrange(len(store_cities))] if city not in STORE_BY_CITY else city
                store = STORE_BY_CITY[city]
            elif city in STORE_BY_CITY and py.random() < 0.3:
                store = STORE_BY_CITY[city]  # an online shopper who also visits the local shop
            else:
                store = ONLINE_STORE
            english = py.random() < ENGLISH_NAME_SHARE
            roll = py.random()
            gender = Gender.FEMALE if roll < 0.62 else Gender.MALE if roll < 0.95 else Gender.UNKNOWN
            name, email_name = self._name(english=english, gender=gender)
            birthday = self._birthday() if py.random() < 0.65 else None
            day = math.floor(registered[i])
            registered_at = self.at(day, py.randrange(8 * 3600, 23 * 3600))
            customer = CustomerPlan(
                name=name,
                gender=gender,
                birthday=birthday,
                phone=self._phone() if py.random() < 0.97 else "",
                email=self._email(email_name) if py.random() < (0.9 if english else 0.5) else "",
                id_number=self._id_number(city, birthday, gender)
                if birthday and not english and py.random() < 0.15
                else "",
                city=city,
                registered_at=registered_at,
                registration_channel=registration_channel,
                store=store,
            )
            if not customer.phone and not customer.email:
                customer.phone = self._phone()
            people.append(customer)
            self.favourite.append(CATEGORIES[py.randrange(len(CATEGORIES))].code)
            self.primary_channels.append(REGISTRATION_CHANNELS[channel_index[i]][2])
        return people

    def _name(self, *, english: bool, gender: str) -> tuple[str, str]:
        """The customer's name, and for English names the ``first.last`` an email would use."""
        if not english:
            faker = self.zh
            name = faker.name_female() if gender == Gender.FEMALE else faker.name_male()
            return str(name), ""
        first = self.en.first_name_female() if gender == Gender.FEMALE else self.en.first_name_male()
        last = self.en.last_name()
        return f"{first} {last}", re.sub(r"[^a-z.]", "", f"{first}.{last}".lower())

    def _birthday(self) -> dt.date:
        age = min(max(self.py.gauss(31, 8), 18), 68)
        return self.end - dt.timedelta(days=int(age * 365.25) + self.py.randrange(365))

    def _phone(self) -> str:
        while True:
            number = f"+86{self.py.choice(MOBILE_PREFIXES)}{self.py.randrange(10**8):08d}"
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number

    def _email(self, english_name: str) -> str:
        py = self.py
        while True:
            if english_name:
                local = f"{english_name}{py.randrange(100) if py.random() < 0.5 else ''}"
                domain = py.choice(["gmail.com", "outlook.com", "icloud.com", "hotmail.com"])
            elif py.random() < 0.45:
                local, domain = str(py.randrange(10**5, 3 * 10**9)), "qq.com"
            else:
                local = f"{self.en.user_name()}{py.randrange(10, 99) if py.random() < 0.4 else ''}"
                domain = py.choice(["163.com", "126.com", "sina.com", "foxmail.com", "gmail.com"])
            email = f"{local}@{domain}"
            if email.lower() not in self.used_emails:
                self.used_emails.add(email.lower())
                return email

    def _id_number(self, city: str, birthday: dt.date, gender: str) -> str:
        """An 18-character resident ID that agrees with the birthday, gender and checksum."""
        sequence = self.py.randrange(0, 499) * 2 + (1 if gender == Gender.MALE else 0)
        body = f"{ID_AREA[city]}{birthday:%Y%m%d}{sequence:03d}"
        weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
        return body + check

    # Orders ------------------------------------------------------------------------------------

    def orders(self, people: list[CustomerPlan], target: int) -> list[OrderPlan]:
        rng = self.np
        n = self.n
        buyer = rng.random(n) < BUYER_SHARE
        returning = rng.random(n) < RETURNING_SHARE
        rate = rng.gamma(RATE_SHAPE, 1.0, n)
        lifetime = rng.exponential(MEAN_LIFETIME_DAYS, n)
        delay = np.where(rng.random(n) < 0.6, 0.0, rng.exponential(10.0, n))
        first = self.registered_days + delay
        has_first = buyer & (first >= 0) & (first < WINDOW_DAYS)
        begin = np.maximum(first, 0)
        stop = np.minimum(first + lifetime, WINDOW_DAYS)
        alive = buyer & returning & (stop > begin)
        exposure = np.where(alive, self.seasonal(stop) - self.seasonal(begin), 0.0)
        scale = _calibrate(rate, exposure, max(target - int(has_first.sum()), 0))
        repeats = rng.poisson(np.minimum(scale * rate, MAX_DAILY_RATE) * exposure)
        owners = np.repeat(np.arange(n), repeats)
        low, high = self.seasonal(begin)[owners], self.seasonal(stop)[owners]
        repeat_days = self.calendar_days(rng.uniform(low, high))
        customer_of = np.concatenate([np.flatnonzero(has_first), owners])
        day_of = np.floor(np.concatenate([first[has_first], repeat_days])).astype(int)
        day_of = np.clip(day_of, 0, WINDOW_DAYS - 1)

        plans = [self._order(int(c), int(d), people[int(c)]) for c, d in zip(customer_of, day_of, strict=True)]
        plans.sort(key=lambda o: (o.placed_at, o.customer))
        self._number_orders(plans)
        return plans

    def _order(self, customer: int, day: int, person: CustomerPlan) -> OrderPlan:
        py = self.py
        choices = self.primary_channels[customer]
        if py.random() < PRIMARY_CHANNEL_SHARE:
            channel = _pick(py, choices)
        elif person.store != ONLINE_STORE and py.random() < 0.5:
            channel = POS
        else:
            channel = _pick(py, SECONDARY_ONLINE)
        if channel == POS and person.store == ONLINE_STORE:
            channel = "wechat"
        local_day = self.start + dt.timedelta(days=day)
        if channel == POS:
            hour = _index(py, STORE_HOURS_CUM)
        elif local_day.month == 11 and local_day.day == 11 and py.random() < 0.3:
            hour = py.randrange(2)  # the midnight rush when 11.11 opens
        else:
            hour = _index(py, ONLINE_HOURS_CUM)
        seconds = hour * 3600 + py.randrange(3600)
        placed_at = self.at(day, seconds)

        lines: dict[int, int] = {}
        count = 1
        while count < 6 and py.random() < 0.45:
            count += 1
        favourite = self.by_category[self.favourite[customer]]
        for _ in range(count):
            from_favourite = py.random() < 0.45
            product = favourite[0][_index(py, favourite[1])] if from_favourite else _index(py, self.product_cum)
            roll = py.random()
            lines[product] = lines.get(product, 0) + (1 if roll < 0.85 else 2 if roll < 0.96 else 3)
        subtotal = sum(self.products[p].price_cents * q for p, q in lines.items())

        discount = shipping = 0
        if channel == POS:
            if py.random() < 0.1:
                discount = subtotal * 5 // 100  # member price, 95折
        else:
            if calendar.is_campaign_day(local_day):
                discount = subtotal // 30000 * 5000  # 每满300减50
            elif py.random() < 0.15:
                discount = next(
                    (off for floor, off in ((39900, 5000), (19900, 2000), (9900, 1000)) if subtotal >= floor), 0
                )
            if subtotal - discount < 9900:
                shipping = 1000
        order = OrderPlan(
            customer=customer,
            channel=channel,
            store=person.store if channel == POS else ONLINE_STORE,
            placed_at=placed_at,
            lines=list(lines.items()),
            subtotal=subtotal,
            discount=discount,
            shipping=shipping,
            total=subtotal - discount + shipping,
        )
        age = WINDOW_DAYS - day - seconds / 86400
        order.status = self._status(channel, age)
        refundable = order.status in (OrderStatus.SHIPPED, OrderStatus.COMPLETED) and age > 3 and order.total > 0
        if refundable and py.random() < (0.02 if channel == POS else 0.045):
            order.refund = self._refund(order, age)
            full = order.refund.amount == order.total
            order.status = OrderStatus.REFUNDED if full else OrderStatus.PARTIALLY_REFUNDED
        return order

    def _status(self, channel: str, age_days: float) -> str:
        py = self.py
        if channel == POS:
            return OrderStatus.COMPLETED
        if py.random() < 0.05:
            return OrderStatus.CANCELLED
        if age_days < 1:
            return OrderStatus.PENDING if py.random() < 0.3 else OrderStatus.PAID
        if age_days < 3:
            return OrderStatus.PAID if py.random() < 0.3 else OrderStatus.SHIPPED
        if age_days < 10 and py.random() < 0.35:
            return OrderStatus.SHIPPED
        return OrderStatus.COMPLETED

    def _refund(self, order: OrderPlan, age_days: float) -> RefundPlan:
        py = self.py
        after = dt.timedelta(days=py.uniform(1, min(15, age_days - 0.5)))
        if py.random() < 0.55:
            amount, reason = order.total, py.choice(REFUND_REASONS_FULL)
        else:
            product, quantity = order.lines[py.randrange(len(order.lines))]
            unit = self.products[product].price_cents
            if len(order.lines) > 1 or quantity > 1:
                amount = unit * (quantity if len(order.lines) > 1 else 1)
            else:
                amount = order.total * py.randrange(10, 40) // 100
            amount = max(min(amount, order.total), 1)
            reason = py.choice(REFUND_REASONS_PARTIAL)
        return RefundPlan(external_id="", amount=amount, reason=reason, refunded_at=order.placed_at + after)

    def _number_orders(self, plans: list[OrderPlan]) -> None:
        """Shop-like order numbers, increasing with time within each channel."""
        py = self.py
        numeric = {c: py.randrange(10**17, 4 * 10**17) for c in ("tmall", "jd", "douyin")}
        sequences: dict[str, int] = {}
        for refund_number, order in enumerate((o for o in plans if o.refund), start=1):
            assert order.refund is not None
            order.refund.external_id = f"RF{refund_number:08d}"
        for order in plans:
            local = order.placed_at.astimezone(SHOP_TIME_ZONE)
            if order.channel in numeric:
                numeric[order.channel] += py.randrange(1, 10**6)
                order.external_id = str(numeric[order.channel])
                continue
            key = order.store if order.channel == POS else order.channel
            sequences[key] = sequences.get(key, 0) + 1
            prefix = {"wechat": "WX", "web": "W", "app": "A"}.get(order.channel, key.upper().replace("-", ""))
            order.external_id = f"{prefix}{local:%Y%m%d}{sequences[key]:07d}"

    # Everything that depends on a customer's orders ---------------------------------------------

    def finish_customers(self, people: list[CustomerPlan], plans: list[OrderPlan]) -> None:
        py = self.py
        net = [0] * len(people)
        last: list[dt.datetime | None] = [None] * len(people)
        first: list[dt.datetime | None] = [None] * len(people)
        channels: list[list[str]] = [[] for _ in people]
        online: list[bool] = [False] * len(people)
        for order in plans:
            c = order.customer
            if order.channel not in channels[c]:
                channels[c].append(order.channel)
            online[c] = online[c] or order.channel != POS
            if first[c] is None:
                first[c] = order.placed_at
            if order.status in COUNTED_STATUSES:
                net[c] += order.total - order.refunded
                last[c] = order.placed_at
        ranked = sorted(range(len(people)), key=lambda i: (-net[i], i))
        for i in ranked[: int(len(people) * SALES_OWNED_SHARE)]:
            people[i].owned_by_sales = net[i] > 0
        cutoff = self.at(WINDOW_DAYS - 365, 0)
        for i, person in enumerate(people):
            first_order = first[i]
            if first_order is not None and person.registered_at > first_order:
                person.registered_at = first_order - dt.timedelta(minutes=py.randrange(2, 30))
            if last[i] is None:
                person.member_status = MemberStatus.PROSPECT if py.random() < 0.75 else MemberStatus.MEMBER
            elif (last_order := last[i]) is not None and last_order < cutoff and py.random() < 0.6:
                person.member_status = MemberStatus.INACTIVE
            if py.random() < 0.002:
                person.member_status = MemberStatus.BLOCKED
            person.identities = self._identities(i, person, channels[i])
            person.custom_fields = self._custom_fields(i, person)
            if online[i] and py.random() < 0.92:
                person.addresses = self._addresses(person)

    def _identities(self, index: int, person: CustomerPlan, used: list[str]) -> list[tuple[str, str]]:
        registration = _pick(self.py, self.primary_channels[index])
        if registration == POS and person.store == ONLINE_STORE:
            registration = "wechat"
        channels = [registration, *(c for c in used if c != registration)]
        return [(channel, self._external_id(channel, person)) for channel in channels]

    def _external_id(self, channel: str, person: CustomerPlan) -> str:
        py = self.py
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        while True:
            if channel == "wechat":
                value = "o" + "".join(py.choice(alphabet) for _ in range(27))  # an openid
            elif channel == "tmall":
                value = f"tb{py.randrange(10**9, 10**11)}"
            elif channel == "jd":
                value = f"jd_{py.randrange(16**9, 16**10):x}"
            elif channel == "douyin":
                value = f"dy{py.randrange(10**11, 10**12)}"
            elif channel == POS:
                value = f"{person.store[:2].upper()}{py.randrange(10**7, 10**8)}"  # member card
            else:
                value = f"{channel[0]}{py.randrange(10**6, 10**8)}"
            if (channel, value) not in self.used_external:
                self.used_external.add((channel, value))
                return value

    def _custom_fields(self, index: int, person: CustomerPlan) -> dict[str, Any]:
        py = self.py
        values: dict[str, Any] = {}
        if person.member_status != MemberStatus.PROSPECT:
            values["member_since"] = person.registered_at.astimezone(SHOP_TIME_ZONE).date().isoformat()
        if py.random() < 0.7:
            code = self.favourite[index]
            values["favourite_category"] = next(c.name for c in CATEGORIES if c.code == code)
        contacts = ["微信 WeChat", "短信 SMS", "电话 Phone"] + (["邮件 Email"] if person.email else [])
        if py.random() < 0.6:
            values["preferred_contact"] = contacts[0] if py.random() < 0.6 else py.choice(contacts)
        if person.gender == Gender.FEMALE and py.random() < 0.55:
            values["skin_type"] = py.choice(SKIN_TYPES)
        if py.random() < 0.8:
            values["marketing_opt_in"] = py.random() < 0.65
        return values

    def _addresses(self, person: CustomerPlan) -> list[AddressPlan]:
        py = self.py
        city = CITY_BY_NAME[person.city]
        home = AddressPlan(
            label="家 Home",
            recipient=person.name,
            phone=person.phone,
            province=city.province,
            city=city.name,
            district=py.choice(city.districts),
            line1=f"{py.choice(city.roads)}{py.randrange(1, 1500)}号",
            line2=f"{py.randrange(1, 30)}栋{py.randrange(1, 5)}单元{py.randrange(2, 33)}{py.randrange(1, 9):02d}室",
            postal_code=f"{city.postal_prefix}{py.randrange(0, 1000):03d}",
            is_default=True,
        )
        addresses = [home]
        if py.random() < 0.18:
            addresses.append(
                AddressPlan(
                    label="公司 Work",
                    recipient=person.name,
                    phone=person.phone,
                    province=city.province,
                    city=city.name,
                    district=py.choice(city.districts),
                    line1=f"{py.choice(city.roads)}{py.randrange(1, 1500)}号",
                    line2=f"{py.choice(OFFICE_BUILDINGS)}{py.randrange(2, 40)}层",
                    postal_code=f"{city.postal_prefix}{py.randrange(0, 1000):03d}",
                    is_default=False,
                )
            )
        return addresses


def _calibrate(rate: npt.NDArray[np.float64], exposure: npt.NDArray[np.float64], target: int) -> float:
    """The rate multiplier whose capped expected number of repeat orders is ``target``."""
    if target <= 0 or not exposure.any():
        return 0.0
    low, high = 0.0, 1.0
    while (np.minimum(high * rate, MAX_DAILY_RATE) * exposure).sum() < target and high < 1e9:
        high *= 2
    for _ in range(60):
        middle = (low + high) / 2
        if (np.minimum(middle * rate, MAX_DAILY_RATE) * exposure).sum() < target:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _pick(py: random.Random, weighted: list[tuple[str, float]]) -> str:
    roll = py.random() * sum(w for _v, w in weighted)
    for value, weight in weighted:
        roll -= weight
        if roll < 0:
            return value
    return weighted[-1][0]


def _index(py: random.Random, cum_weights: list[float]) -> int:
    """An index drawn with the given cumulative weights."""
    return min(bisect.bisect(cum_weights, py.random() * cum_weights[-1]), len(cum_weights) - 1)
