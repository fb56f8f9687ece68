"""Synthetic demo patients, offered to the service as a ``DemoDataSource``.

``bme-cds demo-data`` writes them to files and ``bme-cds serve --demo`` serves
them at ``/demo-fhir`` and on the ``/preview`` page. The patients themselves
are in :mod:`plugin.demo.patients`; the record builder they share with the
golden patients of the content tests is the generic :mod:`cds_content.demo`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fhir_content import ServicePlan


class DemoPatients:
    """The demo patients as transaction Bundles and ready hook calls for the given services.

    The patients are built on first use, not at startup: a service that is not
    in demo mode never pays for them.
    """

    def __init__(self, plans: Iterable[ServicePlan]):
        self._service_for_hook = {plan.hook: plan for plan in plans}

    def demo_bundles(self) -> list[dict[str, Any]]:
        """One FHIR transaction Bundle per demo patient."""
        from plugin.demo.patients import DEMO_PATIENTS

        return [patient.case(patient.visits[0]).transaction() for patient in DEMO_PATIENTS]

    def demo_hook_requests(self) -> list[dict[str, Any]]:
        """Every visit of every demo patient as a complete hook call, prefetch filled from the chart."""
        from plugin.demo.patients import DEMO_PATIENTS

        requests = []
        for patient in DEMO_PATIENTS:
            for visit in patient.visits:
                service = self._service_for_hook.get(visit.hook)
                if service is None:
                    continue
                requests.append({
                    "patientId": patient.id,
                    "serviceId": service.id,
                    "description": visit.shows,
                    "request": patient.case(visit).hook_request(service.prefetch),
                })
        return requests
