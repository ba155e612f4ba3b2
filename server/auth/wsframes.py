"""Ready-made websocket frames: what ``server/api/ws.py`` hands to ``hallq serve``'s protocol.

Kept apart from ``server/auth/serving.py`` so the app does not import uvicorn's protocol modules.
"""

from __future__ import annotations

# the ASGI scope extension under which FanoutWebSocketProtocol offers its frame writer (server/auth/serving.py)
FRAME_WRITER = "hallq.frame_writer"


def text_frame(payload: bytes) -> bytes:
    """An unmasked, unfragmented server text frame (RFC 6455 §5.2: FIN + opcode 1, 7/16/64-bit length)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 1 << 16:
        return b"\x81\x7e" + n.to_bytes(2, "big") + payload
    return b"\x81\x7f" + n.to_bytes(8, "big") + payload
