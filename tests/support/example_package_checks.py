"""Run inside the fresh virtual environment of ``test_example_package``: the service with the example installed.

Prints one JSON object with what the test asserts on. The token comes from
``bme-cds dev-token`` (environment ``TOKEN``), minted with the same instance
directory, so the hook call passes real JWT verification.
"""

from __future__ import annotations

import json
import os
from importlib.metadata import entry_points

from cds_content.demo import Case, Person, condition, icd
from cds_hooks.app import create_app
from cds_hooks.runtime import EXTENSION_KEY
from cds_hooks.settings import Settings


def services(app) -> list[str]:
    return sorted(s["id"] for s in app.test_client().get("/cds-services").get_json()["services"])


def main() -> None:
    settings = Settings.from_env()  # BME_CDS_CONTENT=ckd-checkup, database and instance dir from the test
    app = create_app(settings)
    app.extensions[EXTENSION_KEY].store.migrate()
    client = app.test_client()
    [service] = client.get("/cds-services").get_json()["services"]
    case = Case("venv-check", "patient-view", "CKD stage 3a, never tested", Person("venv-p1", "Ana", "Example", "female", 67),
                records=[condition(icd("N18.31"), onset_days=900)])
    hook = client.post(f"/cds-services/{service['id']}", json=case.hook_request(service["prefetch"]),
                       headers={"Authorization": f"Bearer {os.environ['TOKEN']}"})
    unauthenticated = client.post(f"/cds-services/{service['id']}", json=case.hook_request(service["prefetch"]))
    plans = client.get("/fhir/PlanDefinition").get_json()
    expansion = client.get("/fhir/ValueSet/ckd/$expand").get_json()
    handout = client.get("/handouts/kidney-check?lang=es")
    every_installed = create_app(Settings.from_env(content=()))
    print(json.dumps({
        "installed": sorted(ep.name for ep in entry_points(group="bme_cds.content")),
        "services": services(app),
        "hook_status": hook.status_code,
        "cards": hook.get_json().get("cards", []) if hook.is_json else hook.get_data(as_text=True),
        "unauthenticated_status": unauthenticated.status_code,
        "plans": sorted(e["resource"]["id"] for e in plans.get("entry", [])),
        "expansion_codes": sorted(c["code"] for c in expansion["expansion"]["contains"]),
        "handout": [handout.status_code, handout.headers.get("Content-Language")],
        "services_of_every_installed": services(every_installed),
    }))


if __name__ == "__main__":
    main()
