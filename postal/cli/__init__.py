"""The `postal` command line (also `flask --app wsgi ...`)."""

from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup

from postal.cli.commands import DEMO_PASSWORD, register_commands, upgrade_database

__all__ = ["DEMO_PASSWORD", "main", "register_commands", "upgrade_database"]


def _create_app():
    import config as settings_module
    from postal.app import create_app

    try:
        return create_app()
    except settings_module.ConfigError as exc:
        click.echo(f"postal: configuration error: {exc}", err=True)
        sys.exit(2)


class PostalGroup(FlaskGroup):
    """FlaskGroup whose own `db` group (upgrade + reference data) wins over Flask-Migrate's."""

    def __init__(self, **kwargs):
        super().__init__(create_app=_create_app, **kwargs)
        self._loaded_plugin_commands = True  # no entry-point plugins: our commands are explicit


@click.group(cls=PostalGroup)
def main():
    """postal: the post office's one-stop counter."""
