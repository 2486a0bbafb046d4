"""Maintenance reports for budget officers: availability, faults, replacements, repair cost.

    period        which days a report covers, on the officers' calendar (`2026-10`, `2026-Q4`, ...)
    availability  time in each health state per device, from the state-change log, clipped to the period
    faults        a transition's reasons sorted into the kinds of fault a budget officer can compare
    inventory     units out of warranty or past their service life, and what replacing them costs
    repairs       the typed input tickets will feed (`RepairFacts`) and the figures made from it
    model         the report as typed values: what every renderer reads
    build         store and config in, `Report` out
    i18n          labels and number formats, one dict per language
    charts        inline SVG drawn in Python (no JavaScript)
    html, pdf, xlsx, csv_long   one renderer per format

Renderers read a `Report` only; nothing below `build` touches the store.
"""
