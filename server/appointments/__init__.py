"""预约取号: slots (slots.py), bookings (book.py), remote tickets (remote.py), kiosk check-in (checkin.py).

Routes: server/api/appointments.py; page: /book (displays/templates/book.html). Only keyed
hashes and masked forms of ID and mobile numbers are stored (people.py).
"""
