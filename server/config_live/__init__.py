"""The hall configuration, live: stored versions, changes through the API, applied in every process.

* ``holder.py`` — ``LiveConfig``: the config now, its version, who to tell when it changes;
* ``versions.py`` — the stored versions (``config_versions``) and the ``config.changed`` outbox event;
* ``changes.py`` — JSON merge patch, validation with every problem's path, the diff;
* ``waiting.py`` — removing a service that still has waiting tickets (refuse or transfer);
* ``wiring.py`` — start-up (the YAML becomes version 1) and reloading on ``config.changed``;
* ``yamlio.py`` — the YAML export that ``hallq check-config`` reads.
"""
