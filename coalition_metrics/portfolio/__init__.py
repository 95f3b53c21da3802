"""Portfolios: several coalitions in one run (config.py reads the file, run.py runs it without
Prefect, summary.py writes the portfolio summary). See docs/portfolio.md."""
