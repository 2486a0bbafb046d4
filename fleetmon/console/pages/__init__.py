"""The console's pages, one module per subject; `fleetmon.console.app` routes to them."""
