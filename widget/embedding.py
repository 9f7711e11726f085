"""Who may put the widget in their app (SPEC §11 "Embedding").

Settings → General holds the organization's **allowed embedding origins**
(``widget.models.EmbeddingOrigin``). ``origin_normalize`` is the one rule for what an origin
is: ``https://host[:port]`` (plain ``http`` only for a localhost host while ``DEBUG``), no path,
query, fragment or credentials, lower-case, default port dropped. The widget's and connect
pages send ``frame_ancestors(origins)`` as their ``Content-Security-Policy``, and the widget's
script posts its ``fastn:*`` messages only to the embedding page's origin when it is one of
them (``widget/views.py``, ``static/widget/embed.js``).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from audit import actions
from audit.services import audit_record
from customers.models import Organization
from tenancy.context import require_scope
from widget.models import EmbeddingOrigin

MAX_ORIGINS = 20
MAX_ORIGIN_LENGTH = 300  # EmbeddingOrigin.origin
EVENT_PARAMETER = "fastn_event"
EVENT_SALT = "fastn.widget.event.v1"
EVENT_MAX_AGE_SECONDS = 120
LOCALHOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
DEFAULT_PORTS = {"https": 443, "http": 80}
_HOST = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
)


def _is_localhost(host: str) -> bool:
    return host in LOCALHOSTS or host.endswith(".localhost")


def origin_normalize(raw: str) -> str:
    """``raw`` as ``scheme://host[:port]``, or a ``ValidationError`` that says what is wrong."""
    text = raw.strip()
    if not text:
        raise ValidationError("Enter an origin such as https://app.example.com.", code="empty")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValidationError(f"{text} is not a valid origin.", code="invalid") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if host and ":" in host:
        host = f"[{host}]"  # an IPv6 address, as origins write it
    if scheme not in DEFAULT_PORTS or not host or parts.netloc.endswith(":"):
        raise ValidationError(
            f"{text} is not an origin: write it as https://host or https://host:port.",
            code="invalid",
        )
    if parts.username is not None or parts.password is not None:
        raise ValidationError(f"{text}: an origin holds no user name or password.", code="invalid")
    if parts.path not in ("", "/") or parts.query or parts.fragment or text.endswith("?"):
        raise ValidationError(
            f"{text}: an origin is only scheme://host[:port], without a path, query or fragment.",
            code="invalid",
        )
    if not (_HOST.match(host) or host == "[::1]"):
        raise ValidationError(f"{text}: {host} is not a valid host name.", code="invalid")
    if scheme == "http" and not (settings.DEBUG and _is_localhost(host)):
        raise ValidationError(
            f"{text}: use https. Plain http is accepted only for localhost in development.",
            code="insecure",
        )
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def origins_parse(text: str) -> list[str]:
    """Every origin of ``text`` (one a line, or separated by commas or spaces), normalized,
    without duplicates; a ``ValidationError`` lists each line refused."""
    found: list[str] = []
    errors: list[ValidationError] = []
    for item in re.split(r"[\s,]+", text.strip()):
        if not item:
            continue
        try:
            origin = origin_normalize(item)
        except ValidationError as exc:
            errors.append(exc)
        else:
            if origin not in found:
                found.append(origin)
    if errors:
        raise ValidationError(errors)
    if len(found) > MAX_ORIGINS:
        raise ValidationError(
            f"At most {MAX_ORIGINS} origins can be allowed; {len(found)} were given.",
            code="too_many",
        )
    return found


def embedding_origins() -> list[str]:
    """The allowed origins of the organization in scope, sorted."""
    return list(EmbeddingOrigin.objects.order_by("origin").values_list("origin", flat=True))


def embedding_origins_set(
    *, acting_user: Any, organization: Organization, origins: list[str]
) -> list[str]:
    """Replace the organization's allowed origins with ``origins`` (normalized again here, so no
    caller can store a non-origin). The caller has checked ``organization.manage_settings``."""
    if require_scope().org_id != organization.id:
        raise ValueError("The organization is not the one in scope.")
    wanted = origins_parse("\n".join(origins))
    before = embedding_origins()
    EmbeddingOrigin.objects.exclude(origin__in=wanted).delete()
    EmbeddingOrigin.objects.bulk_create(
        [EmbeddingOrigin(org=organization, origin=o) for o in wanted if o not in before]
    )
    if set(before) != set(wanted):
        audit_record(
            actor=acting_user,
            action=actions.EMBEDDING_ORIGINS_UPDATE,
            target_type="organization",
            target_id=organization.id,
            before={"origins": before},
            after={"origins": sorted(wanted)},
        )
    return sorted(wanted)


def frame_ancestors(origins: list[str]) -> str:
    """The ``Content-Security-Policy`` of a page the allowed origins may frame."""
    return " ".join(["frame-ancestors 'self'", *origins])


def announcing(url: str, event: str, **detail: str) -> str:
    """``url`` with the signed ``fastn:<event>`` its page sends to the embedding page (a
    redirect's way to say what just happened; signed, so no link can make the widget announce
    what did not)."""
    signed = signing.dumps({"type": f"fastn:{event}", **detail}, salt=EVENT_SALT)
    return url + ("&" if "?" in url else "?") + urlencode({EVENT_PARAMETER: signed})


def announced(request: HttpRequest) -> dict[str, str] | None:
    """The event ``announcing`` put in this page's URL, while fresh; otherwise ``None``."""
    raw = request.GET.get(EVENT_PARAMETER, "")
    if not raw:
        return None
    try:
        event = signing.loads(raw, salt=EVENT_SALT, max_age=EVENT_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    return event if isinstance(event, dict) else None
