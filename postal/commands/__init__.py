"""Further console commands, one module per capability (import, report, backup)."""

COMMANDS: list = []
