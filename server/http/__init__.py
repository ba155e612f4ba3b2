"""The HTTP edge shared by every router: problem documents, API docs, request timing, middleware.

It imports nothing of the routers or of ``server.auth``, so both may depend on it.
"""
