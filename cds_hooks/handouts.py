"""PLACEHOLDER (handouts helper replaces this): patient handouts at /handouts/<id>."""

from flask import Blueprint

bp = Blueprint("handouts", __name__, url_prefix="/handouts")
