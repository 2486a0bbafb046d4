"""`python -m fleetmon` is the `fleetmon` command."""

from fleetmon.cli import main

main()
