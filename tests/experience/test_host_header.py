"""A caller cannot choose the audience: only Host values naming this service are served (421 otherwise).

DNS rebinding (an attacker's name resolving to this machine) and a Host
header set by hand would otherwise choose the ``aud`` tokens must carry, the
links in cards and which ``/demo-fhir`` counts as the service's own. Checked
through a real server on 127.0.0.1, in demo mode (``/preview/token``
included), and with ``BME_CDS_PUBLIC_URL`` set.
"""

from __future__ import annotations

import pytest
import requests

from support.outcomes import error_of
from support import tally
from support.store_auth import serving

FOREIGN = ["attacker.example:{P}", "attacker.example", "127.0.0.2:{P}", "127.0.0.1:1", "[::1]:{P}", "127.0.0.1:{P}@x"]
TOKEN_BODY = {"serviceId": "bme-patient-view", "purpose": "hook"}


def get(base: str, path: str, host: str, **kwargs) -> requests.Response:
    method = requests.post if "json" in kwargs else requests.get
    return method(base + path, headers={"Host": host}, timeout=30, **kwargs)


@pytest.fixture
def demo(demo_app):
    with serving(demo_app(auth_enabled=True)) as base:
        yield base, int(base.rsplit(":", 1)[1])


@pytest.mark.parametrize("host", FOREIGN)
@pytest.mark.parametrize("path", ["/cds-services", "/healthz", "/preview/token"])
def test_a_foreign_host_is_refused_in_demo_mode(demo, host, path):
    base, port = demo
    kwargs = {"json": TOKEN_BODY} if path == "/preview/token" else {}
    response = get(base, path, host.format(P=port), **kwargs)
    assert response.status_code == 421
    assert error_of(response)["code"] == "misdirected-request"
    tally.count(tally.ATTACKS_REFUSED)


@pytest.mark.parametrize("host", ["127.0.0.1:{P}", "localhost:{P}"])
def test_the_listening_address_and_localhost_are_served(demo, host):
    base, port = demo
    assert get(base, "/cds-services", host.format(P=port)).status_code == 200
    token = get(base, "/preview/token", host.format(P=port), json=TOKEN_BODY)
    assert token.status_code == 200, token.text


def test_with_a_public_url_only_its_host_is_served(demo_app):
    with serving(demo_app(public_url="https://cds.example.org")) as base:
        port = base.rsplit(":", 1)[1]
        assert get(base, "/cds-services", "cds.example.org").status_code == 200
        assert get(base, "/cds-services", "cds.example.org:443").status_code == 200
        for foreign in (f"127.0.0.1:{port}", "cds.example.org:8443", "other.example.org"):
            assert get(base, "/cds-services", foreign).status_code == 421
            tally.count(tally.ATTACKS_REFUSED)
