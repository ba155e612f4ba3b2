"""Supervision reports: KPI definitions (kpi.py), the report query, exports, assessment and staffing advice."""
