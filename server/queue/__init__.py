"""The pure queue engine (no I/O, no clock: times are parameters).

- enums.py      TicketState, Priority (with rank), Channel, WindowState (``staffed()``), Role, Action,
                Rating (``is_bad()``: 差评)
- views.py      TicketView, WindowView, HallSnapshot: what the queue hands out (no ticket token)
- events.py     EventType and the typed event payloads; ``Event`` and its one wire form
- machine.py    the transition table and ``transition(state, action)``
- entities.py   IdentityRef, Candidate, WindowRule, CallPolicy, Pick
- numbering.py  per-service numbers, range, wrap/refuse, daily limit
- limits.py     per-person limits, elderly priority
- hours.py      business day, opening hours, lunch break, holidays, next opening
- policy.py     ``choose_next``: the calling policy as one function
- estimate.py   moving-average service time and wait estimates
- adapt.py      building these from ``server.config.HallConfig``; ``call_order``
- refusals.py   the business refusals with stable codes
"""
