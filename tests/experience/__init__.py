"""Tester and clinician experience: demo patients, demo FHIR server, preview page, feedback report, suppression."""
