"""Real requests as seeds: read a log (readers), fit each body to the target's protocol
(bodies), replace personal data with consistent substitutes (scrub), and hand the corpus
scrubbed seeds (seeds). docs/logs.md describes the formats and the scrubbing."""
