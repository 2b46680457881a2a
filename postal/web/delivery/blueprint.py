"""The home-delivery pages' blueprint, which each page module adds its routes to."""

from flask import Blueprint

bp = Blueprint("delivery", __name__)
