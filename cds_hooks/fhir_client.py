"""Outbound FHIR reads for prefetch data the client did not send.

A hook call hands us a ``fhirServer`` URL chosen by the caller, so every
outbound request is treated as an SSRF risk and bounded:

* the server must match ``settings.fhir_allowlist`` (URL prefixes compared by
  normalised scheme, host, port and path segments; an empty list means no
  outbound calls at all) and use https unless it is on this machine
  (127.0.0.0/8, ::1, ``localhost``);
* connect and read timeouts per request, and one time budget per hook call
  across all requests (:class:`Deadline`);
* a size cap on the bytes read for one fetch (all its pages together),
  enforced while streaming;
* redirects are followed by hand and only within the same allow-listed base;
  Bundle ``next`` links likewise, up to ``settings.fhir_max_pages`` pages;
* environment proxies and ``.netrc`` are ignored (``trust_env = False``).

Logs name only the host and the status, never a URL (search URLs carry
patient ids) and never the access token.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, unquote, urljoin, urlsplit

import requests
import urllib3

from cds_hooks.hook_request import is_fhir_resource
from cds_hooks.settings import Settings
from cds_hooks.strict_json import InvalidJson, parse_json

log = logging.getLogger(__name__)

MAX_REDIRECTS = 3
_CHUNK_BYTES = 64 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}


class FhirClientError(Exception):
    """The FHIR server could not give us the data; the message is safe to show and log."""


class FhirServerNotAllowed(FhirClientError):
    """The ``fhirServer`` (or a URL it pointed us to) is outside the allow-list or not https."""


class FhirFetchFailed(FhirClientError):
    """The request failed: network error, timeout, non-2xx status, OperationOutcome or bad body."""


class FhirResponseTooLarge(FhirFetchFailed):
    """The server sent more than ``settings.fhir_max_response_bytes`` for one fetch."""


class FhirTimeBudgetExceeded(FhirFetchFailed):
    """The hook call's time budget for outbound requests ran out."""


class FhirTooManyPages(FhirFetchFailed):
    """A search needed more than ``settings.fhir_max_pages`` pages.

    Partial search results could hide the very finding a card depends on, so
    a capped search is a failed fetch rather than a silently shortened one.
    """


class Deadline:
    """The time left for all outbound requests of one hook call."""

    def __init__(self, seconds: float):
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def check(self) -> float:
        """Seconds left; raises :class:`FhirTimeBudgetExceeded` when none are."""
        left = self.remaining()
        if left <= 0:
            raise FhirTimeBudgetExceeded("time budget for FHIR requests exhausted")
        return left


@dataclass(frozen=True)
class BaseUrl:
    """A normalised http(s) base URL: where requests may go, compared by path segments."""

    scheme: str
    host: str
    port: int
    path: str  # no trailing slash; "" for the server root

    @classmethod
    def parse(cls, url: str) -> BaseUrl:
        """Normalise ``url``; raises :class:`FhirServerNotAllowed` for anything but a plain http(s) URL."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            raise FhirServerNotAllowed("not a valid URL") from None
        if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
            raise FhirServerNotAllowed("only http(s) URLs with a host are allowed")
        if parts.username is not None or parts.password is not None:
            raise FhirServerNotAllowed("URLs with credentials are not allowed")
        if parts.query or parts.fragment:
            raise FhirServerNotAllowed("a FHIR base URL has no query or fragment")
        path = parts.path.rstrip("/")
        if _may_leave_path(path):
            raise FhirServerNotAllowed("URL paths with '.' or '..' segments, ';' or '%25' are not allowed")
        scheme = parts.scheme.lower()
        return cls(scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme], path)

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = _DEFAULT_PORTS[self.scheme] == self.port
        return f"{self.scheme}://{host}{'' if default else f':{self.port}'}{self.path}"

    def contains(self, url: str) -> bool:
        """Whether an absolute ``url`` lies under this base (same origin, no userinfo, path within, see :func:`_may_leave_path`)."""
        parts = self._same_origin_parts(url)
        if parts is None or parts.username or parts.password or _may_leave_path(parts.path):
            return False
        return parts.path.rstrip("/") == self.path or parts.path.startswith(self.path + "/")

    def same_origin(self, url: str) -> bool:
        return self._same_origin_parts(url) is not None

    def _same_origin_parts(self, url: str) -> SplitResult | None:
        """``url`` split, when its scheme, host and port are this base's; else ``None``."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return None
        scheme = parts.scheme.lower()
        if scheme != self.scheme or (parts.hostname or "").lower() != self.host:
            return None
        if (port or _DEFAULT_PORTS.get(scheme)) != self.port:
            return None
        return parts


class FhirClient:
    """One per app: the allow-list, the limits and a pooled ``requests.Session``."""

    def __init__(self, settings: Settings, session: requests.Session | None = None):
        self.settings = settings
        self.allowlist = tuple(_allowlist_entry(entry) for entry in settings.fhir_allowlist)
        self.session = session or requests.Session()
        self.session.trust_env = False
        # urllib3 logs every URL it requests at DEBUG, and FHIR search URLs carry patient ids.
        logging.getLogger("urllib3").setLevel(logging.WARNING)

    def server(self, fhir_server: str, *, access_token: str | None, deadline: Deadline) -> FhirServer:
        """Bind to a caller's ``fhirServer``; raises :class:`FhirServerNotAllowed` unless it is permitted."""
        base = BaseUrl.parse(fhir_server)
        if base.scheme != "https" and not base.is_loopback:
            raise FhirServerNotAllowed("fhirServer must use https (http only on this machine)")
        if not any(allowed.contains(base.url) for allowed in self.allowlist):
            raise FhirServerNotAllowed("fhirServer is not on this service's FHIR allow-list")
        return FhirServer(self, base, access_token, deadline)


class FhirServer:
    """A permitted FHIR server for the duration of one hook call."""

    def __init__(self, client: FhirClient, base: BaseUrl, access_token: str | None, deadline: Deadline):
        self._client = client
        self._settings = client.settings
        self.base = base
        self._access_token = access_token
        self._deadline = deadline

    def __repr__(self) -> str:  # no token, no path
        return f"FhirServer(host={self.base.host!r})"

    def read(self, relative_url: str) -> dict[str, Any]:
        """GET a relative FHIR read or search URL; a searchset's pages come back merged into one Bundle."""
        if relative_url.startswith("/") or "://" in relative_url.split("?", 1)[0]:
            raise FhirServerNotAllowed("prefetch URLs must be relative to fhirServer")
        url = f"{self.base.url}/{relative_url}"
        if not self.base.contains(url):
            raise FhirServerNotAllowed("prefetch URL leaves fhirServer")
        budget = _ByteBudget(self._settings.fhir_max_response_bytes)
        resource = self._get_resource(url, budget)
        if resource["resourceType"] != "Bundle":
            return resource
        return self._merge_pages(resource, url, budget)

    def complete(self, bundle: dict[str, Any]) -> dict[str, Any]:
        """Fetch the remaining pages of a Bundle the client sent with a ``next`` link."""
        return self._merge_pages(bundle, self.base.url + "/", _ByteBudget(self._settings.fhir_max_response_bytes))

    def _merge_pages(self, first: dict[str, Any], page_url: str, budget: _ByteBudget) -> dict[str, Any]:
        entries = list(first.get("entry") or [])
        page, pages = first, 1
        while (link := next_link(page)) is not None:
            if pages >= self._settings.fhir_max_pages:
                raise FhirTooManyPages(f"search has more than {self._settings.fhir_max_pages} pages")
            page_url = urljoin(page_url, link)
            if not self.base.contains(page_url):
                raise FhirServerNotAllowed("a next link leaves fhirServer")
            page = self._get_resource(page_url, budget)
            if page["resourceType"] != "Bundle":
                raise FhirFetchFailed("a next link did not return a Bundle")
            entries.extend(page.get("entry") or [])
            pages += 1
        merged = {key: value for key, value in first.items() if key not in ("entry", "link")}
        links = [link for link in first.get("link") or [] if not _is_next(link)]
        if links:
            merged["link"] = links
        if entries:
            merged["entry"] = entries
        return merged

    def _get_resource(self, url: str, budget: _ByteBudget) -> dict[str, Any]:
        body = self._get(url, budget)
        try:
            resource = parse_json(body)
        except InvalidJson as exc:
            raise FhirFetchFailed(f"{self.base.host} answered with invalid JSON ({exc})") from None
        if not is_fhir_resource(resource):
            raise FhirFetchFailed(f"{self.base.host} did not answer with a FHIR resource")
        if resource["resourceType"] == "OperationOutcome":
            log.warning("fhir fetch host=%s answered with an OperationOutcome", self.base.host)
            raise FhirFetchFailed(f"{self.base.host} answered with an OperationOutcome")
        return resource

    def _get(self, url: str, budget: _ByteBudget) -> bytes:
        headers = {"Accept": "application/fhir+json, application/json;q=0.9"}
        if self._access_token:
            headers["Authorization"] = f"Bearer {self._access_token}"
        for _ in range(MAX_REDIRECTS + 1):
            left = self._deadline.check()
            timeout = (min(self._settings.fhir_connect_timeout, left), min(self._settings.fhir_read_timeout, left))
            try:
                with self._client.session.get(
                    url, headers=headers, timeout=timeout, allow_redirects=False, stream=True
                ) as response:
                    if response.is_redirect:
                        url = self._redirect_target(url, response)
                        continue
                    log.info("fhir fetch host=%s status=%s", self.base.host, response.status_code)
                    if not 200 <= response.status_code < 300:
                        raise FhirFetchFailed(f"{self.base.host} answered HTTP {response.status_code}")
                    return self._read_body(response, budget)
            except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
                log.warning("fhir fetch host=%s failed: %s", self.base.host, type(exc).__name__)
                raise FhirFetchFailed(f"{self.base.host} could not be reached ({type(exc).__name__})") from None
        raise FhirFetchFailed(f"{self.base.host} redirected more than {MAX_REDIRECTS} times")

    def _redirect_target(self, url: str, response: requests.Response) -> str:
        target = urljoin(url, response.headers.get("Location", ""))
        if not (self.base.same_origin(target) and self.base.contains(target)):
            log.warning("fhir fetch host=%s redirect to another host refused", self.base.host)
            raise FhirServerNotAllowed(f"{self.base.host} redirected outside fhirServer; redirect refused")
        return target

    def _read_body(self, response: requests.Response, budget: _ByteBudget) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit():
            budget.reserve(int(declared))
        body = bytearray()
        # read1 returns after one network read, so a server that trickles bytes
        # cannot hold us past the deadline between two checks.
        while chunk := response.raw.read1(_CHUNK_BYTES, decode_content=True):
            budget.take(len(chunk))
            body += chunk
            self._deadline.check()
        return bytes(body)


class _ByteBudget:
    """Bytes one fetch may still read, across all of its pages."""

    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0

    def reserve(self, amount: int) -> None:
        if self.used + amount > self.limit:
            raise FhirResponseTooLarge(f"response larger than {self.limit} bytes")

    def take(self, amount: int) -> None:
        self.reserve(amount)
        self.used += amount


def next_link(bundle: dict[str, Any]) -> str | None:
    """The URL of a Bundle's ``next`` page, if it has one."""
    for link in bundle.get("link") or []:
        if _is_next(link) and isinstance(link.get("url"), str) and link["url"]:
            return link["url"]
    return None


def _is_next(link: Any) -> bool:
    return isinstance(link, dict) and link.get("relation") == "next"


def _may_leave_path(path: str) -> bool:
    """Whether a server could resolve ``path`` outside itself: a ``.``/``..`` segment once decoded, a ``;``, a ``%25``.

    Servers may decode ``%2e%2e`` and even ``%2F`` before resolving the path,
    so ``Patient/..%2F..%2Fadmin`` counts as leaving the base too. Some read
    ``..;`` as ``..`` with a path parameter, and some decode twice, turning
    ``%252e`` into ``.``; FHIR paths need neither ``;`` nor an encoded ``%``.
    """
    decoded = unquote(path)
    return ";" in decoded or "%25" in path or any(segment in (".", "..") for segment in decoded.split("/"))


def _allowlist_entry(entry: str) -> BaseUrl:
    try:
        base = BaseUrl.parse(entry)
    except FhirServerNotAllowed as exc:
        raise ValueError(f"BME_CDS_FHIR_ALLOWLIST entry {entry!r}: {exc}") from None
    if base.scheme != "https" and not base.is_loopback:
        raise ValueError(f"BME_CDS_FHIR_ALLOWLIST entry {entry!r} must use https (http only on this machine)")
    return base
