"""coalition-metrics: audited quarterly metrics from the spreadsheets a coalition already keeps.

The package is plain Python. Prefect, Great Expectations and DuckDB are imported only inside the
functions that need them, so `coalition --help` stays fast.
"""

__version__ = "0.1.0"
