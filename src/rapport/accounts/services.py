"""Staff users, roles, data scopes and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission, User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from rapport.accounts import roles
from rapport.accounts.models import ApiToken, StaffProfile
from rapport.accounts.scopes import ALL_SCOPES
from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.core.actor import Actor
from rapport.core.errors import FieldError, InvalidInput, NotFound
from rapport.core.prepared import Prepared

TOKEN_PREFIX = "rpt"


def sync_roles() -> None:
    """Create or update one group per role with exactly its permissions. Safe to run often."""
    all_permissions = Permission.objects.select_related("content_type")
    by_name = {f"{p.content_type.app_label}.{p.codename}": p for p in all_permissions}
    for role, names in roles.ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        wanted = list(by_name.values()) if names == ["*"] else [by_name[n] for n in names if n in by_name]
        group.permissions.set(wanted)


def role_of(user: AbstractBaseUser | AnonymousUser | None) -> str | None:
    if user is None or not user.is_authenticated:
        return None
    if getattr(user, "is_superuser", False):
        return roles.ADMIN
    names = {g.name for g in user.groups.all()}  # type: ignore[attr-defined]
    for role in roles.ROLE_PERMISSIONS:  # first match in order of breadth
        if role in names:
            return role
    return None


def customer_scope(user: AbstractBaseUser | AnonymousUser | None, *, prefix: str = "") -> Q:
    """The customers this user may see, as a filter (``prefix`` for related lookups)."""
    role = role_of(user)
    if role in roles.UNSCOPED_ROLES:
        return Q()
    user_pk = getattr(user, "pk", None)
    if role == roles.SALES:
        return Q(**{f"{prefix}owner_id": user_pk})
    if role == roles.STORE_STAFF:
        store_id = StaffProfile.objects.filter(user_id=user_pk or 0).values_list("store_id", flat=True).first()
        if store_id:
            return Q(**{f"{prefix}store_id": store_id})
    return Q(pk__in=[])


@transaction.atomic
def create_staff_user(
    *,
    username: str,
    password: str,
    role: str,
    actor: Actor,
    email: str = "",
    display_name: str = "",
    store_id: int | None = None,
) -> User:
    if role not in roles.ROLE_PERMISSIONS:
        raise InvalidInput.single(
            "role", "invalid", f"unknown role {role!r}; one of {', '.join(roles.ROLE_PERMISSIONS)}"
        )
    if User.objects.filter(username=username).exists():
        raise InvalidInput.single("username", "duplicate", f"a user named {username!r} already exists")
    user = User.objects.create_user(username=username, password=password, email=email)
    if role == roles.ADMIN:
        user.is_staff = True
        user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    user.groups.add(Group.objects.get(name=role))
    StaffProfile.objects.create(user=user, store_id=store_id, display_name=display_name)
    record(actor, AuditEntry.Action.CREATE, obj=user, changes={"role": role, "store_id": store_id})
    return user


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create_api_token(
    *,
    user: User,
    name: str,
    scopes: Iterable[str],
    actor: Actor,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its plaintext, which is never stored or shown again."""
    scope_list = sorted(set(scopes))
    unknown = [s for s in scope_list if s not in ALL_SCOPES]
    errors = [FieldError("scopes", "invalid", f"unknown scope {s!r}") for s in unknown]
    if not scope_list:
        errors.append(FieldError("scopes", "required", "give at least one scope"))
    if not name.strip():
        errors.append(FieldError("name", "required", "give the token a name"))
    if expires_at is not None and expires_at <= timezone.now():
        errors.append(FieldError("expires_at", "invalid", "the expiry must be in the future"))
    if errors:
        raise InvalidInput(errors)
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip(),
        prefix=prefix,
        secret_hash=_hash_secret(secret),
        scopes=scope_list,
        expires_at=expires_at,
    )
    record(actor, AuditEntry.Action.TOKEN, obj=token, changes={"created": True, "scopes": scope_list})
    return token, f"{TOKEN_PREFIX}_{prefix}_{secret}"


def _token_fields() -> tuple[list[str], list[str]]:
    token_fields = [f.attname for f in ApiToken._meta.concrete_fields]
    user_fields = [f.attname for f in User._meta.concrete_fields]
    return token_fields, user_fields


def _token_query(markers: list[int], _shape: object) -> QuerySet[ApiToken, tuple[Any, ...]]:
    token_fields, user_fields = _token_fields()
    columns = [*token_fields, *(f"user__{name}" for name in user_fields)]
    return ApiToken.objects.filter(prefix=str(markers[0])).order_by().values_list(*columns)


# Every API request reads its token afresh (a revoked token fails at once): compiled once per process.
_TOKEN_READ = Prepared(_token_query)


def _token_with_user(prefix: str) -> ApiToken | None:
    """The token with this prefix and its user, as model instances, in one prepared query."""
    rows = _TOKEN_READ.rows([prefix])
    if not rows:
        return None
    token_fields, user_fields = _token_fields()
    row = rows[0]
    token = ApiToken.from_db("default", token_fields, row[: len(token_fields)])
    token.user = User.from_db("default", user_fields, row[len(token_fields) :])
    return token


def authenticate_token(raw: str) -> ApiToken | None:
    """The usable token for a presented bearer string, or None. Constant-time comparison."""
    parts = (raw or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    token = _token_with_user(parts[1])
    if token is None or not token.is_usable or not token.user.is_active:
        return None
    if not hmac.compare_digest(token.secret_hash, _hash_secret(parts[2])):
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


@transaction.atomic
def revoke_api_token(*, prefix: str, actor: Actor) -> ApiToken:
    token = ApiToken.objects.select_for_update().filter(prefix=prefix).first()
    if token is None:
        raise NotFound.single("prefix", "not_found", f"no token with prefix {prefix!r}")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record(actor, AuditEntry.Action.TOKEN, obj=token, changes={"revoked": True})
    return token


def staff_store_id(user: AbstractBaseUser | AnonymousUser | None) -> int | None:
    """The store a staff member works in (their profile's), or None."""
    user_pk = getattr(user, "pk", None)
    if user_pk is None:
        return None
    return StaffProfile.objects.filter(user_id=user_pk).values_list("store_id", flat=True).first()
