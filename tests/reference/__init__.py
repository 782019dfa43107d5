"""Reference servers for the verdict tests: for each protocol a careful server (correct
behaviour a nightly gate must stay green on: clean refusals, float noise, sampling) and a
careless twin with planted faults, each of which must give an error-severity finding.

One module per server family (chat.py, embeddings.py, tabular.py, closer.py, ...), each
runnable as ``python -m tests.reference.NAME PORT [--careless FAULT,...]`` and serving
``GET /health``. Only 127.0.0.1, only servers the tests start themselves.
"""
