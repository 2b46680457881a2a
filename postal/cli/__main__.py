"""`python -m postal.cli`: the same as the `postal` command."""

from postal.cli import main

main()
