"""The content interface: what a content provider offers the CDS Hooks service.

The service (``cds_hooks``) knows the CDS Hooks protocol and nothing about any
clinical topic. Clinical content comes from *providers*, found through the
``bme_cds.content`` entry-point group, so a second topic plugs in by installing
another package, without touching the service.

A provider is any object with the shape of :class:`ContentProvider` (checked
structurally, so providers never import this package).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

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
    ``language`` is a BCP-47 primary tag such as ``en`` or ``es``. A provider
    should stop (raising :class:`TimeoutError`) once ``time.monotonic()``
    passes ``deadline``, and read at most ``max_text_chars`` characters of
    one text value and ``max_call_text_chars`` of all texts of the call.
    """

    service_id: str
    hook: str
    hook_instance: str
    context: Mapping[str, Any]
    prefetch: Mapping[str, Any]
    base_url: str
    language: str = "en"
    deadline: float | None = None
    max_text_chars: int = 100_000
    max_call_text_chars: int = 500_000


@runtime_checkable
class ContentProvider(Protocol):
    """What the service needs from a content package.

    ``evaluate`` returns CDS Hooks card objects (plain JSON-ready dicts) with a
    ``uuid`` on every card and suggestion and ``source.topic`` set, so the
    service can record issued cards for feedback.
    """

    def services(self) -> Sequence[ServiceDefinition]: ...

    def evaluate(self, call: HookCall) -> list[dict[str, Any]]: ...


@runtime_checkable
class HandoutSource(Protocol):
    """Optional: a provider that also serves patient handouts at ``/handouts/{id}``."""

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


class ContentError(RuntimeError):
    """A provider could not be loaded or two providers claim the same service id."""


def load_providers() -> list[ContentProvider]:
    """Instantiate every provider registered under the ``bme_cds.content`` group.

    An entry point names a zero-argument factory (or class) returning a provider.
    """
    providers: list[ContentProvider] = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            factory = ep.load()
            provider = factory()
        except Exception as exc:  # a broken content package must stop startup, loudly
            raise ContentError(f"content provider {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
        if not isinstance(provider, ContentProvider):
            raise ContentError(f"content provider {ep.name!r} does not implement services() and evaluate()")
        providers.append(provider)
    return providers


class ServiceRegistry:
    """Service id -> (provider, definition), built once at startup."""

    def __init__(self, providers: Iterable[ContentProvider]):
        self.providers: list[ContentProvider] = list(providers)
        self._by_id: dict[str, tuple[ContentProvider, ServiceDefinition]] = {}
        for provider in self.providers:
            for service in provider.services():
                if service.id in self._by_id:
                    raise ContentError(f"two content providers define service id {service.id!r}")
                self._by_id[service.id] = (provider, service)

    def __contains__(self, service_id: str) -> bool:
        return service_id in self._by_id

    def get(self, service_id: str) -> tuple[ContentProvider, ServiceDefinition] | None:
        return self._by_id.get(service_id)

    def definitions(self) -> list[ServiceDefinition]:
        return [definition for _, definition in self._by_id.values()]

    def handout_sources(self) -> list[HandoutSource]:
        return [p for p in self.providers if isinstance(p, HandoutSource)]

    def demo_sources(self) -> list[DemoDataSource]:
        return [p for p in self.providers if isinstance(p, DemoDataSource)]
