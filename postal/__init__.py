"""postal: the post office's one-stop counter — intake, custody, home delivery and reports."""

from postal.app import ROOT, create_app

__all__ = ["ROOT", "create_app"]
