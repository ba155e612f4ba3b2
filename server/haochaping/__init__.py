"""好差评 upload: 办件 bindings and the ``evaluation_exports`` outbox to the provincial 好差评 system.

- ``links.py`` — ``case_links``: a window's current ticket bound to its 办件编号 and 事项编码;
- ``record.py`` — the uploaded record (GB/T 39735 fields as far as hallq can source them);
- ``outbox.py`` — the outbox rows: queue each rating once (idempotency key), claim, settle;
- ``adapters.py`` — the adapter per province (entry points ``hallq.haochaping``) and the generic one;
- ``signing.py`` — HMAC-SHA256 request signatures; ``receiver.py`` — a test receiver;
- ``sender.py`` — the sender loop with exponential backoff (``ExportService``).
"""
