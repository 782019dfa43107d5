"""The run directory, owned in one place: ``layout`` names every file in it, ``write``
writes them (whole files atomically) and ``read`` reads them for the report, the load
process (traces.json) and the repro tools. Nothing else in stress/ builds a run-directory
path from a literal (tests/unit/rundir/test_layout.py holds it so).

The package itself imports nothing, and ``layout`` and ``write`` import nothing of ours but
``layout``, so stress.record, the CLI and the load process use them without pandas or the
scenario model.
"""
