"""Further console commands, one module per capability (import, report, backup)."""

from postal.commands import reports

COMMANDS: list = [*reports.COMMANDS]
