"""stress: a synthetic load and messy-input stress tester for model endpoints.

Importing this package has no side effects; in particular it never imports Locust (which
monkey-patches the process with gevent). Locust is imported only by ``stress.load``.
"""

__version__ = "0.1.0"
