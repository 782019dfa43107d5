"""Inputs: the families that generate them and the seeded corpus built before load starts."""
