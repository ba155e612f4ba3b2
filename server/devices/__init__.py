"""The device host: the one owner of a hall's devices.

- ``port.py``       QueuePort (everything a wiring may ask of the queue) + InProcessQueue
- ``remote.py``     RemoteQueue: QueuePort over the public HTTP API and ``/ws`` topic ``host``
- ``host.py``       DeviceHost: claims its devices, runs the DeviceManager and the wirings, heartbeats, health
- ``manager.py``    DeviceManager: builds, opens and supervises devices; the ``Wiring`` protocol
- ``status.py``     what every web worker knows: device list and host online/offline from the store
- ``process.py``    ``hallq devices`` and the device-host child of ``hallq serve --workers N``
- ``setup.py``      the app's lifespan plug-in (embedded host, ``devices``/``host`` topics)
- ``validation.py`` / ``simulators.py``  device config checks; demo simulators (``url: sim``)

The wirings themselves live with their features: ``server/windows/``, ``server/kiosk/``
(reader, printer), ``server/cameras/``.
"""
