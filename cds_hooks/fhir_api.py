"""PLACEHOLDER (engine helper replaces this): read-only FHIR knowledge endpoints under /fhir."""

from flask import Blueprint

bp = Blueprint("fhir_api", __name__, url_prefix="/fhir")
