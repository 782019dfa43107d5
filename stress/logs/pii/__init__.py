"""Personal data in logged requests, found and replaced with consistent substitutes before
anything is written (stress.logs.scrub is the entry; docs/logs.md lists the kinds).

One module per family of detectors: numbers (cards, SSNs, national IDs through python-stdnum,
IBAN, BIC), phones (libphonenumber over every region), network (e-mail, IP, MAC, URLs),
places (addresses, dates of birth), names, keys (what a JSON key announces); substitutes
makes the replacements and scrubber holds the two passes and the consistent map.
"""
