"""Customers, stores, channel identities, addresses, custom fields, notes and change history.

Personal data (phone, email, ID number, address lines) is stored encrypted with a blind index
beside it; see :mod:`rapport.core.pii`. Business rules live in :mod:`rapport.customers.services`.
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rapport.core import pii, shredding
from rapport.core.actor import Source
from rapport.core.fields import EncryptedTextField, SubjectSealedTextField


class Channel(models.TextChoices):
    WEB = "web", _("Web shop")
    APP = "app", _("App")
    MINI_PROGRAM = "mini_program", _("Mini-program")
    STORE = "store", _("Offline store")
    MARKETPLACE = "marketplace", _("Marketplace")
    SOCIAL = "social", _("Social")
    IMPORT = "import", _("Import")


class Gender(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class Store(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    city = models.CharField(_("city"), max_length=80, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    is_online = models.BooleanField(_("online store"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("store")
        verbose_name_plural = _("stores")

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class MemberStatus(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    MEMBER = "member", _("Member")
    INACTIVE = "inactive", _("Inactive")
    BLOCKED = "blocked", _("Blocked")


_HAN = re.compile(r"[\u3400-\u9fff]+")


def name_key(name: str) -> str:
    """What two spellings of one name share, for merge suggestions: "Wang Fang", "fang  WANG" and
    "ＷＡＮＧ Fang" give the same key (width, case, spacing, punctuation and word order ignored),
    and so do "张 伟" and "张伟" (Chinese characters keep their order); "" without letters or digits."""
    words = pii.comparable_words(name)
    if not all(_HAN.fullmatch(word) for word in words):
        words.sort()
    return "".join(words)[:120]


_LATIN_NAME = re.compile(r"[A-Za-z\s'’·.\-]+")


def _without_accents(text: str) -> str:
    """ "Wáng Fāng" → "Wang Fang", "Lǚ" → "Lv" (pinyin typed without its ü key)."""
    text = text.replace("ü", "v").replace("Ü", "V").replace("ǖ", "v").replace("ǘ", "v").replace("ǚ", "v")
    text = text.replace("ǜ", "v")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def name_pinyin(name: str) -> str:
    """The name's search key in Latin letters: its pinyin run together, then the initials of its
    syllables and words, so "wang fang", "wangfang", "Wáng Fāng" and "wf" all find 王芳
    ("wangfang|wf"); Latin words are kept as they are ("Amy Wang" → "amywang|aw")."""
    from pypinyin import lazy_pinyin  # its dictionaries load on first use, not at start-up

    words = pii.comparable_words(_without_accents(name))
    syllables = [s for word in words for s in lazy_pinyin(word) if s.strip()]
    if not syllables:
        return ""
    return "".join(syllables) + "|" + "".join(s[0] for s in syllables)


def pinyin_query(text: str) -> str:
    """A search text as a fragment of :func:`name_pinyin` ("Wáng Fāng" → "wangfang"), or "" when
    it is not a name in Latin letters (a Chinese name, a number, an email)."""
    latin = _without_accents(text.strip())
    if not _LATIN_NAME.fullmatch(latin):
        return ""
    return "".join(pii.comparable_words(latin))


class Customer(models.Model):
    name = models.CharField(_("name"), max_length=120, db_index=True)
    # kept by save() from the name; merge suggestions find namesakes through it
    name_key = models.CharField(max_length=120, blank=True, default="", db_default="", editable=False)
    # kept by save() from the name: Latin and pinyin spellings of a Chinese name find it
    name_pinyin = models.TextField(blank=True, default="", db_default="", editable=False)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True, default="")
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    # Celebrates the birthday by the Chinese calendar (农历): care reminders fall on its lunar anniversary.
    # A database default too, because the import engine's COPY names only the columns it fills.
    lunar_birthday = models.BooleanField(_("lunar birthday (农历)"), default=False, db_default=False)
    phone = EncryptedTextField(_("phone"), blank=True, default="")
    phone_index = models.CharField(max_length=64, null=True, blank=True, editable=False)
    # kept by save() from the phone: the last four digits find a customer without decrypting
    phone_tail_index = models.CharField(max_length=64, null=True, blank=True, editable=False)
    email = EncryptedTextField(_("email"), blank=True, default="")
    email_index = models.CharField(max_length=64, null=True, blank=True, editable=False)
    id_number = EncryptedTextField(_("ID number"), blank=True, default="")
    id_number_index = models.CharField(max_length=64, null=True, blank=True, editable=False)
    city = models.CharField(_("city"), max_length=80, blank=True, db_index=True)
    member_status = models.CharField(
        _("member status"), max_length=20, choices=MemberStatus.choices, default=MemberStatus.MEMBER
    )
    registered_at = models.DateTimeField(_("registered at"), db_index=True)
    registration_channel = models.CharField(
        _("registration channel"), max_length=20, choices=Channel.choices, default=Channel.WEB
    )
    store = models.ForeignKey(
        Store,
        verbose_name=_("store"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_customers",
    )
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    # Who signed the member up (at the counter, or a staff referral) and where: fixed at enrolment,
    # unlike the owner and the home store, for the new-members figure of staff performance.
    recruited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recruited by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recruited_at = models.ForeignKey(
        Store, verbose_name=_("recruited at"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-registered_at", "-id"]
        constraints = [
            # One person per phone and per email: the database, not a prior read, guarantees it.
            models.UniqueConstraint(
                fields=["phone_index"], condition=Q(phone_index__isnull=False), name="customer_phone_unique"
            ),
            models.UniqueConstraint(
                fields=["email_index"], condition=Q(email_index__isnull=False), name="customer_email_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["id_number_index"], name="customer_id_number_idx"),
            models.Index(fields=["store", "registered_at"]),
            models.Index(fields=["owner", "registered_at"]),
            models.Index(fields=["birthday"], name="customer_birthday_idx"),  # age conditions
            # namesakes for merge suggestions (every identify with a name looks): a probe, not a scan
            models.Index(fields=["name_key"], name="customer_name_key_idx", condition=~Q(name_key="")),
            models.Index(
                fields=["phone_tail_index"], name="customer_phone_tail_idx", condition=Q(phone_tail_index__isnull=False)
            ),
        ]
        permissions = [
            ("reveal_pii", _("Can reveal customers' personal data")),
            ("assign_owner", _("Can assign customers to staff")),
            ("export_customer", _("Can export customers")),
        ]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        return self.name or f"#{self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        derived = keep_search_keys(self)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, *(key for source, key in derived if source in update_fields)}
        super().save(*args, **kwargs)

    @property
    def masked_phone(self) -> str:
        return pii.mask_phone(self.phone)

    @property
    def masked_email(self) -> str:
        return pii.mask_email(self.email)

    @property
    def masked_id_number(self) -> str:
        return pii.mask_id_number(self.id_number)


def keep_search_keys(customer: Customer) -> list[tuple[str, str]]:
    """Set the keys derived from the name and phone (for saves and for bulk writes, which skip
    ``save()``); answers ``(source field, key field)`` for each key set. A field deferred on load
    is not read (that would cost a query) and its keys are left as they are."""
    deferred = customer.get_deferred_fields()
    derived: list[tuple[str, str]] = []
    if "name" not in deferred:
        customer.name_key = name_key(customer.name)
        customer.name_pinyin = name_pinyin(customer.name)
        derived += [("name", "name_key"), ("name", "name_pinyin")]
    if "phone" not in deferred:
        customer.phone_tail_index = pii.phone_tail_index(customer.phone)
        derived.append(("phone", "phone_tail_index"))
    return derived


def identity_is_personal(channel: str, external_id: str) -> bool:
    """Whether a channel identity is personal data, stored sealed: every identity but the member
    card numbers a shop prints on its own cards (``RAPPORT_MEMBER_CARD_CHANNELS``), which stay
    readable so that a segment can match a part of them; a card number that is a phone or an
    email is personal all the same. A wechat openid or a web user id names one person for good."""
    return channel not in settings.RAPPORT_MEMBER_CARD_CHANNELS or pii.looks_personal(external_id)


class IdentityIdField(SubjectSealedTextField):
    """The id a channel knows a customer by, sealed with the customer's key (crypto-shredding) when
    :func:`identity_is_personal`; reads give the id back. Never filtered on: look-ups use the
    blind index ``external_index`` (:func:`identity_index_of`)."""

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if not isinstance(value, str) or shredding.is_sealed(value):
            return value
        if not identity_is_personal(getattr(model_instance, "channel", ""), value):
            return value
        return shredding.seal(getattr(model_instance, self.subject), value)


class IdentityIndexField(models.CharField):  # type: ignore[type-arg]
    """The blind index (:func:`rapport.core.pii.identity_index`) of the row's channel and id, set
    whenever the row is saved or bulk-created with a readable id; the row's unique key."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        external_id = getattr(model_instance, "external_id", "")
        if isinstance(external_id, str) and external_id and not shredding.is_sealed(external_id):
            setattr(
                model_instance, self.attname, pii.identity_index(getattr(model_instance, "channel", ""), external_id)
            )
        return getattr(model_instance, self.attname)


class Identity(models.Model):
    """One way a channel knows this customer: a shop user id, an app id, an offline card…

    Personal ids are stored sealed (:func:`identity_is_personal`); every look-up goes through the
    blind index, ``Identity.objects.filter(external_index=identity_index_of(channel, id))``.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    channel = models.CharField(_("channel"), max_length=40)
    external_id = IdentityIdField(_("external id"), subject="customer_id")
    external_index = IdentityIndexField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["external_index"], name="identity_external_index_unique")]
        indexes = [models.Index(fields=["channel"], name="identity_channel_idx")]  # the channels in use
        verbose_name = _("identity")
        verbose_name_plural = _("identities")

    def __str__(self) -> str:
        return f"{self.channel}:{self.external_id}"


identity_index_of = pii.identity_index


def sealed_identities(rows: list[tuple[int, str, str]]) -> list[tuple[int, str, str, str]]:
    """``(customer id, channel, id)`` → ``(customer id, channel, stored id, blind index)`` for bulk
    writers that insert many identities at once (imports, demo data): the customers' keys fetched
    together (:func:`rapport.core.shredding.sealer`), not one query a row."""
    personal = [identity_is_personal(channel, external_id) for _customer, channel, external_id in rows]
    seal_one = shredding.sealer({row[0] for row, sealed in zip(rows, personal, strict=True) if sealed})
    return [
        (
            customer_id,
            channel,
            seal_one(customer_id, external_id) if sealed else external_id,
            identity_index_of(channel, external_id),
        )
        for (customer_id, channel, external_id), sealed in zip(rows, personal, strict=True)
    ]


class Address(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    label = models.CharField(_("label"), max_length=40, blank=True)
    recipient = models.CharField(_("recipient"), max_length=120, blank=True)
    phone = EncryptedTextField(_("phone"), blank=True, default="")
    country = models.CharField(_("country"), max_length=2, default="CN")
    province = models.CharField(_("province"), max_length=60, blank=True)
    city = models.CharField(_("city"), max_length=80, blank=True)
    district = models.CharField(_("district"), max_length=80, blank=True)
    line1 = EncryptedTextField(_("address line 1"), blank=True, default="")
    line2 = EncryptedTextField(_("address line 2"), blank=True, default="")
    postal_code = models.CharField(_("postal code"), max_length=16, blank=True)
    is_default = models.BooleanField(_("default"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # blind index of city, district and first line (kept by save): namesakes at one place
    place_index = models.CharField(max_length=64, null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-is_default", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(is_default=True), name="address_one_default_per_customer"
            )
        ]
        indexes = [
            models.Index(fields=["place_index"], name="address_place_idx", condition=Q(place_index__isnull=False))
        ]
        verbose_name = _("address")
        verbose_name_plural = _("addresses")

    def __str__(self) -> str:
        return " ".join(part for part in [self.province, self.city, self.district] if part)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.place_index = pii.place_index(self.city, self.district, self.line1)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"city", "district", "line1"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "place_index"}
        super().save(*args, **kwargs)


class CustomFieldDefinition(models.Model):
    """A merchant-defined profile field (自定义资料项): typed and validated on every write."""

    class FieldType(models.TextChoices):
        TEXT = "text", _("Text")
        INTEGER = "integer", _("Whole number")
        DECIMAL = "decimal", _("Decimal number")
        DATE = "date", _("Date")
        BOOLEAN = "boolean", _("Yes/no")
        CHOICE = "choice", _("One of a list")
        MULTI_CHOICE = "multi_choice", _("Several of a list")

    key = models.SlugField(_("key"), max_length=50, unique=True)
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(_("type"), max_length=20, choices=FieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    max_length = models.PositiveIntegerField(_("maximum length"), default=200)
    help_text = models.CharField(_("help text"), max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "key"]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")

    def __str__(self) -> str:
        return self.label


class Note(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = EncryptedTextField(_("note"))  # staff write phones and addresses into notes
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("note")
        verbose_name_plural = _("notes")

    def __str__(self) -> str:
        return self.body[:50]


OWNER_FIELD = "owner"  # the change records' name of the owner field (readable, see ChangeRecord)


class ChangeRecord(models.Model):
    """One field of one customer changed: who, when, old → new, through what.

    Personal-data fields are recorded masked: the history must not become a plaintext copy. Both
    values are sealed with the customer's own key, so their erasure makes them unreadable
    (crypto-shredding) without rewriting the history.

    The owner is staff, not personal data: an owner change keeps its values in ``owner_before`` and
    ``owner_after`` instead, readable by SQL, so reports can ask who owned a customer at a given time
    (:func:`rapport.customers.queries.owner_at`) and still after an erasure.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="changes")
    field = models.CharField(_("field"), max_length=80)
    old_value = SubjectSealedTextField(_("old value"), blank=True, subject="customer_id")
    new_value = SubjectSealedTextField(_("new value"), blank=True, subject="customer_id")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    source = models.CharField(_("source"), max_length=20, choices=Source.CHOICES)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    owner_before = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("owner before"),
    )
    owner_after = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("owner after"),
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "created_at"]),
            # who owned whom when: one probe per order in staff performance
            models.Index(
                fields=["customer", "created_at"], name="change_record_owner_idx", condition=Q(field=OWNER_FIELD)
            ),
        ]
        verbose_name = _("change record")
        verbose_name_plural = _("change records")

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value} → {self.new_value}"


class CustomerMerge(models.Model):
    """A merge (客户合并): who merged which customer into which, and what moved."""

    survivor = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merges")
    merged_customer_id = models.BigIntegerField(db_index=True)
    merged_name = models.CharField(max_length=120)
    reason = models.CharField(_("reason"), max_length=200)
    moved = models.JSONField(_("moved"), default=dict)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    source = models.CharField(_("source"), max_length=20, choices=Source.CHOICES)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")

    def __str__(self) -> str:
        return f"#{self.merged_customer_id} → #{self.survivor_id}"


class MergedCustomer(models.Model):
    """A merged customer's id keeps resolving to the survivor (and on through later merges)."""

    merged_id = models.BigIntegerField(primary_key=True)
    survivor = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merged_ids")

    def __str__(self) -> str:
        return f"#{self.merged_id} → #{self.survivor_id}"


class MergeSuggestion(models.Model):
    """A weak match for staff to confirm or reject (similar name and address, shared device)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        MERGED = "merged", _("Merged")
        REJECTED = "rejected", _("Rejected")

    first = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("reason"), max_length=200)
    score = models.DecimalField(_("score"), max_digits=4, decimal_places=3)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="merge_suggestion_unique_pair"),
            models.CheckConstraint(condition=Q(first__lt=models.F("second")), name="merge_suggestion_ordered_pair"),
        ]
        verbose_name = _("merge suggestion")
        verbose_name_plural = _("merge suggestions")

    def __str__(self) -> str:
        return f"#{self.first_id} ~ #{self.second_id} ({self.reason})"


class ConsentChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    PUSH = "push", _("App push")
    WECHAT = "wechat", _("WeChat / mini-program")
    SITE = "site", _("Site and in-app messages")
    CALL = "call", _("Phone call")


class ConsentPurpose(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    SERVICE = "service", _("Service messages")


class Consent(models.Model):
    """A customer's current decision (客户授权) for one channel and purpose.

    No row means the default: marketing needs an explicit yes (opt-in), service messages about
    the customer's own orders, tickets and account are allowed until refused.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(_("channel"), max_length=10, choices=ConsentChannel.choices)
    purpose = models.CharField(_("purpose"), max_length=10, choices=ConsentPurpose.choices)
    granted = models.BooleanField(_("granted"))
    source = models.CharField(_("source"), max_length=20, choices=Source.CHOICES)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel", "purpose"], name="consent_one_per_channel_purpose")
        ]
        indexes = [models.Index(fields=["channel", "purpose", "granted", "customer"], name="consent_lookup_idx")]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")

    def __str__(self) -> str:
        return f"{self.channel}/{self.purpose}: {'yes' if self.granted else 'no'}"


class ConsentRecord(models.Model):
    """The consent ledger: every grant and withdrawal, never changed, with who and the evidence."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consent_records")
    channel = models.CharField(_("channel"), max_length=10, choices=ConsentChannel.choices)
    purpose = models.CharField(_("purpose"), max_length=10, choices=ConsentPurpose.choices)
    granted = models.BooleanField(_("granted"))
    source = models.CharField(_("source"), max_length=20, choices=Source.CHOICES)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    evidence = models.CharField(_("evidence"), max_length=300, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["customer", "recorded_at"], name="consent_record_customer_idx")]
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")

    def __str__(self) -> str:
        return f"{self.channel}/{self.purpose} → {'yes' if self.granted else 'no'}"
