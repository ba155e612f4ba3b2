"""The hall as the rest of the server sees it: ``service.py`` (HallService, the async facade
over the store that publishes committed events in order) and ``hub.py`` (the event hub)."""
