"""Checks: oracles over one answer (request) and over groups of answers (SLOs)."""
