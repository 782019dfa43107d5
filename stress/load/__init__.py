"""The load engine package. Importing this package does NOT import Locust; only
``stress.load.engine`` does, and only the load process (``python -m stress.load``) imports it."""
