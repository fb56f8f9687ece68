"""The service's side of the content boundary: load the providers a deployment uses and index their services.

Providers implement the interface of :mod:`cds_content` (which the service's
modules import directly) and are found through the ``bme_cds.content``
entry-point group; the ``BME_CDS_CONTENT`` setting names the ones to load
(default: every one installed), so a site can run without the BME content.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from importlib.metadata import entry_points

from cds_content import ENTRY_POINT_GROUP, ContentProvider, DemoDataSource, HandoutSource, KnowledgeSource, ServiceDefinition


class ContentError(RuntimeError):
    """A provider could not be loaded or two providers claim the same service id."""


def load_providers(names: Sequence[str] = ()) -> list[ContentProvider]:
    """Instantiate the providers registered under the ``bme_cds.content`` group: those in ``names``, or all.

    An entry point names a zero-argument factory (or class) returning a
    provider. A name in ``names`` that no installed package registers is an
    error, so a typo in the setting does not start a service without content.
    """
    installed = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    unknown = sorted(set(names) - set(installed))
    if unknown:
        raise ContentError(
            f"content package(s) {', '.join(unknown)} named in BME_CDS_CONTENT are not installed "
            f"(installed: {', '.join(sorted(installed)) or 'none'})"
        )
    providers: list[ContentProvider] = []
    for name in sorted(names or installed):
        ep = installed[name]
        try:
            factory = ep.load()
            provider = factory()
        except Exception as exc:  # a broken content package must stop startup, loudly
            raise ContentError(f"content provider {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
        if not isinstance(provider, ContentProvider):
            raise ContentError(f"content provider {ep.name!r} does not implement languages, services() and evaluate()")
        providers.append(provider)
    return providers


class ServiceRegistry:
    """Service id -> (provider, definition), built once at startup.

    ``restyle`` turns each provider's definition into the one the service
    serves (the prefetch template style, :mod:`cds_hooks.prefetch_style`).
    """

    def __init__(
        self,
        providers: Iterable[ContentProvider],
        restyle: Callable[[ServiceDefinition], ServiceDefinition] | None = None,
    ):
        self.providers: list[ContentProvider] = list(providers)
        self._by_id: dict[str, tuple[ContentProvider, ServiceDefinition]] = {}
        for provider in self.providers:
            if not provider.languages:
                raise ContentError(f"content provider {type(provider).__name__} declares no language")
            for service in provider.services():
                if restyle is not None:
                    service = restyle(service)
                if service.id in self._by_id:
                    raise ContentError(f"two content providers define service id {service.id!r}")
                self._by_id[service.id] = (provider, service)

    def __contains__(self, service_id: str) -> bool:
        return service_id in self._by_id

    def get(self, service_id: str) -> tuple[ContentProvider, ServiceDefinition] | None:
        return self._by_id.get(service_id)

    def definitions(self) -> list[ServiceDefinition]:
        return [definition for _, definition in self._by_id.values()]

    def knowledge_sources(self) -> list[KnowledgeSource]:
        return knowledge_sources(self.providers)

    def handout_sources(self) -> list[HandoutSource]:
        return [p for p in self.providers if isinstance(p, HandoutSource)]

    def demo_sources(self) -> list[DemoDataSource]:
        return [p for p in self.providers if isinstance(p, DemoDataSource)]


def knowledge_sources(providers: Iterable[ContentProvider]) -> list[KnowledgeSource]:
    """The providers whose cards come from FHIR knowledge artifacts (served at ``/fhir``, checked by ``validate``)."""
    return [p for p in providers if isinstance(p, KnowledgeSource)]
