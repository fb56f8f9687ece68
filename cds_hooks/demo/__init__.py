"""The pieces for trying the service without an EHR: none of them takes part in a production deployment.

The demo FHIR server (:mod:`.fhir`) and the preview page (:mod:`.preview`),
on with ``bme-cds serve --demo``; the demo patients collected from the
content providers (:mod:`.data`); and the local development issuer
(:mod:`.dev_keys`), trusted only when no trusted-issuers file is configured.
"""
