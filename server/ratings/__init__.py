"""好差评 closed loop: rating rules and reasons, the working-day calendar, 差评 case states.

- ``reasons.py``  the second-level reasons (评价内容) of a bad rating, free-text checks and masking;
- ``calendar.py`` working days (``chinese-calendar`` for mainland holidays/调休, the hall's list overriding);
- ``cases.py``    the 差评 case state machine (待核实 → 核实中 → 整改中 → 已回复 → 已办结, 申诉).

The store keeps ratings, cases and case steps (server/store/ratings.py, server/store/cases.py);
the routes are server/api/cases.py and server/api/tickets.py.
"""
