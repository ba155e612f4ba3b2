"""The supervisors' stored alert inbox: de-duplicated alerts, acknowledged and resolved, kept across restarts."""
