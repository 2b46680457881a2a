"""The counter: the clerk's intake page, dossier pages and reprints."""

from postal.web.counter.views import bp

__all__ = ["bp"]
