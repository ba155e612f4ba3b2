"""The pure queue engine: states, numbering, calendar, calling policy and estimates (no I/O)."""
