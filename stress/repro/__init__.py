"""Reproduction: tools that read a run directory and re-send what failed."""
