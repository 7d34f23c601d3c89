"""The Admin blueprint that every page module adds its views to."""

from flask import Blueprint

blp = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
