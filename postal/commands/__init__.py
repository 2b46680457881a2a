"""Further console commands, one module per capability (import, report, backup)."""

from postal.commands import backup, notify, reports

COMMANDS: list = [*reports.COMMANDS, *notify.COMMANDS, *backup.COMMANDS]
