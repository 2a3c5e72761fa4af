"""`python -m lexiquery.cli` runs the `lexiquery` command."""

from lexiquery.cli import main

main()
