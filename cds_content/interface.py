"""The content interface: what a content provider offers the CDS Hooks service.

The service (``cds_hooks``) knows the CDS Hooks protocol and nothing about any
clinical topic. Clinical content comes from *providers*, found through the
``bme_cds.content`` entry-point group, so a second topic plugs in by installing
another package, without touching the service.

Only the standard library is imported here, so a content package that depends
on this interface pulls in neither Flask nor the service.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from fhir_content import KnowledgeBase

__all__ = [
    "ENTRY_POINT_GROUP",
    "ContentProvider",
    "DemoDataSource",
    "HandoutSource",
    "HookCall",
    "KnowledgeSource",
    "ServiceDefinition",
]

ENTRY_POINT_GROUP = "bme_cds.content"


@dataclass(frozen=True)
class ServiceDefinition:
    """One CDS service as announced in discovery.

    ``prefetch`` maps a prefetch key to a FHIR query template. Every key in
    ``required_prefetch`` must be obtainable (from the request or from the FHIR
    server) or the call is answered with 412; by default every prefetch key is
    required.
    """

    id: str
    hook: str
    title: str
    description: str
    prefetch: Mapping[str, str] = field(default_factory=dict)
    usage_requirements: str | None = None
    required_prefetch: frozenset[str] | None = None

    def required_keys(self) -> frozenset[str]:
        """The prefetch keys without which the service cannot answer."""
        if self.required_prefetch is None:
            return frozenset(self.prefetch)
        return self.required_prefetch


@dataclass(frozen=True)
class HookCall:
    """A validated hook request with its prefetch completed, handed to a provider.

    ``prefetch`` holds, for each key of the service's templates, the FHIR
    resource or searchset Bundle the client sent or the service fetched, or
    ``None`` when the client said there is no such data (a ``null`` value).
    ``base_url`` is the public base URL of this service (for absolute links);
    ``language`` is one of the provider's ``languages``. A provider should
    stop (raising :class:`TimeoutError`) once ``time.monotonic()`` passes
    ``deadline``, and read at most ``max_text_chars`` characters of one text
    value and ``max_call_text_chars`` of all texts of the call.
    """

    service_id: str
    hook: str
    hook_instance: str
    context: Mapping[str, Any]
    prefetch: Mapping[str, Any]
    base_url: str
    language: str
    deadline: float | None = None
    max_text_chars: int = 100_000
    max_call_text_chars: int = 500_000


@runtime_checkable
class ContentProvider(Protocol):
    """What the service needs from a content package.

    ``languages`` are the primary language tags (``"en"``, ``"es"``) the
    provider's cards and handouts come in, the fallback first: the service
    picks one of them for each call (the ``userLanguage`` context field, then
    ``Accept-Language``, then the first).

    ``evaluate`` returns CDS Hooks card objects (plain JSON-ready dicts) with a
    ``uuid`` on every card and suggestion and ``source.topic`` set, so the
    service can record issued cards for feedback.
    """

    @property
    def languages(self) -> Sequence[str]: ...

    def services(self) -> Sequence[ServiceDefinition]: ...

    def evaluate(self, call: HookCall) -> list[dict[str, Any]]: ...


@runtime_checkable
class KnowledgeSource(Protocol):
    """Optional: a provider whose cards come from FHIR knowledge artifacts run by ``fhir_content``.

    The service serves that knowledge read-only under ``/fhir`` (with
    ``$apply`` and ``$expand``), and ``bme-cds validate`` / ``bme-cds apply``
    check and run it. ``languages`` as for :class:`ContentProvider`.
    """

    @property
    def languages(self) -> Sequence[str]: ...

    @property
    def knowledge_base(self) -> KnowledgeBase: ...


@runtime_checkable
class HandoutSource(Protocol):
    """Optional: a provider that also serves patient handouts at ``/handouts/{id}``.

    ``languages`` as for :class:`ContentProvider`; a handout missing in the
    language asked for is served in the first one.
    """

    @property
    def languages(self) -> Sequence[str]: ...

    def handout_ids(self) -> Iterable[str]: ...

    def render_handout(self, handout_id: str, language: str) -> str | None:
        """Return the handout as a full HTML page, or ``None`` if unknown."""
        ...


@runtime_checkable
class DemoDataSource(Protocol):
    """Optional: a provider that ships synthetic demo patients (``bme-cds demo-data``, ``serve --demo``).

    Demo data is built on first call, so a provider pays nothing for it outside demo mode.
    """

    def demo_bundles(self) -> list[dict[str, Any]]:
        """One FHIR R4 ``transaction`` Bundle per demo patient (``PUT Type/id`` entries)."""
        ...

    def demo_hook_requests(self) -> list[dict[str, Any]]:
        """Ready hook calls: ``{"patientId", "serviceId", "description", "request"}`` each.

        ``description`` says what a clinician should see; ``request`` is the
        complete CDS Hooks request body, prefetch included.
        """
        ...
