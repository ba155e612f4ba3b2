"""The pure queue engine (no I/O, no clock: times are parameters).

- enums.py      TicketState, Priority (with rank), Channel, WindowState (``staffed()``), Role, Action,
                Rating (``is_bad()``: 差评)
- views.py      TicketView, WindowView, HallSnapshot: what the queue hands out (no ticket token)
- events.py     EventType and the typed event payloads; ``Event`` and its one wire form
- machine.py    the transition table and ``transition(state, action)``
- entities.py   IdentityRef, Candidate, WindowRule, CallPolicy, Pick
- numbering.py  per-service numbers, range, wrap/refuse, daily limit
- limits.py     per-person limits, elderly priority
- holidays.py   mainland 放假/调休 days from chinese-calendar, the hall's lists overriding (one calendar)
- hours.py      business day, opening hours, lunch break (issuing mode), holidays, next opening, cut-offs,
                elapsed opening time (``opening_seconds`` / ``opening_deadline``: the call-back clock)
- policy.py     ``choose_next``: the calling policy as one function (class first, then 主办/兼办, by default)
- availability.py  honest availability of a service: available, no_window, closed, cut_off, lunch, …
- estimate.py   moving-average service time and wait estimates (兼办 windows by share, a range when uncertain)
- adapt.py      building these from ``server.config.HallConfig``; ``call_order``
- refusals.py   the business refusals with stable codes
"""
