"""The satisfaction audit pack (`coalition audit satisfaction`, flow `audit-satisfaction`).

data.py runs the SQL of reports/audit_data/, stats.py the statistical tests, tables.py puts both
into the pack's tables, charts.py draws them, workbook.py writes audit.xlsx and pack.py renders
audit.html and publishes the pack folder. See docs/audit.md.
"""
