"""``python -m allsource`` runs the CLI."""

from allsource.cli import main

main()
