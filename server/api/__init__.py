"""HTTP and websocket API of the queue server: one router per audience."""
