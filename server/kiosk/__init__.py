"""The kiosk feature (身份证取号, 取号, 打印): its flow lives here, its page bundle in top-level ``kiosk/``.

* ``sessions.py`` — ID-card sessions per kiosk, stored (masked forms and keyed hash only);
* ``service.py`` — ``KioskService.issue``: the one kiosk issue path (session, queue, print job);
* ``jobs.py`` — print jobs, claimed exactly once;
* ``reader.py`` / ``printing.py`` — the device host's wirings of the kiosk's ID reader and printer;
* ``reading.py`` — ``CardReading``, what a reader sends the server.

Routes: ``server/api/kiosks.py``.
"""
