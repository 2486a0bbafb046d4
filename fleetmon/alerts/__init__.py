"""Maintenance tickets and repair alerts: the first consumer of the monitor's health changes.

    faults.py     a logged health change → the fault kinds it names (device, site, problems)
    engine.py     the ticket engine: reads the state-change log after a stored cursor, keeps
                  faults, opens / resolves / reopens tickets, SLA, windows; one transaction a step
    tickets.py    the lifecycle people drive (ack, assign, start, resolve, close with a repair record)
    windows.py    maintenance windows (area, site, device; one-off or recurring)
    plans.py      preventive maintenance on schedule
    amwebhook.py  Alertmanager's webhook as a ticket source
    messages.py   texts from Jinja2 templates (templates/), Vietnamese and English
    outbox.py     messages written with the ticket change; routing; digests for storms
    channels.py   email, webhook, Telegram, Alertmanager delivery
    sender.py     the outbox's delivery loop, retries with backoff
    service.py    what `fleetmon run` starts

It reads the core (store, health, config, inventory) and never probes. docs/TICKETS.md is the
user's guide.
"""
