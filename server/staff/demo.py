"""The demo hall's staff: 所属单位 and a placeholder photo for each demo clerk (``hallq demo``).

The photos are drawn with Pillow at start-up (a head-and-shoulders silhouette on a coloured
ID-photo background), so no image files are committed; a photo already uploaded is kept.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from server.auth import accounts as acc
from server.auth.roles import Role
from server.auth.tables import accounts
from server.staff import directory

DEPARTMENTS = ("市市场监督管理局", "市人力资源和社会保障局", "市公安局", "市不动产登记中心", "市医疗保障局",
               "市税务局", "市住房公积金管理中心", "市民政局")
BACKGROUNDS = ((67, 142, 219), (214, 64, 69), (240, 240, 240), (88, 160, 120), (120, 110, 190))
SHIRTS = ((32, 48, 80), (24, 24, 28), (60, 70, 90), (40, 60, 110))


def avatar(index: int, width: int = 300, height: int = 375) -> bytes:
    """A placeholder portrait (JPEG): a silhouette on one of the usual ID-photo backgrounds."""
    from PIL import Image, ImageDraw  # lazily: only the demo draws

    bg, shirt = BACKGROUNDS[index % len(BACKGROUNDS)], SHIRTS[index % len(SHIRTS)]
    img = Image.new("RGB", (width, height), bg)
    draw = ImageDraw.Draw(img)
    skin, hair = (236, 200, 170), (30, 26, 24)
    cx = width // 2
    draw.ellipse((cx - 150, int(height * .66), cx + 150, int(height * 1.25)), fill=shirt)  # shoulders
    draw.polygon([(cx - 34, int(height * .66)), (cx + 34, int(height * .66)), (cx, int(height * .80))],
                 fill=(250, 250, 250))  # collar
    draw.rectangle((cx - 26, int(height * .50), cx + 26, int(height * .68)), fill=skin)  # neck
    draw.ellipse((cx - 88, int(height * .09), cx + 88, int(height * .50)), fill=hair)  # hair, behind the face
    draw.ellipse((cx - 74, int(height * .17), cx + 74, int(height * .58)), fill=skin)  # face
    draw.chord((cx - 80, int(height * .10), cx + 80, int(height * .36)), 180, 360, fill=hair)  # fringe
    out = io.BytesIO()
    img.save(out, "JPEG", quality=88)
    return out.getvalue()


def seed(auth: Any, config: Any) -> int:
    """Give each demo clerk (``clerk<n>``) a 所属单位 and a photo when it has none; returns how many changed."""
    changed = 0
    numbers = [w.number for w in getattr(config, "windows", [])]
    for i, n in enumerate(numbers):
        with contextlib.suppress(IntegrityError), auth.tx() as conn:  # another worker may seed at once
            account = acc.get_by_username(conn, f"clerk{n}")
            if account is None or account.role is not Role.CLERK:
                continue
            if not account.department:
                conn.execute(update(accounts).where(accounts.c.id == account.id)
                             .values(department=DEPARTMENTS[i % len(DEPARTMENTS)]))
                changed += 1
            if account.photo_at is None:
                directory.set_photo(conn, account.id, avatar(i), 300, 375, auth.now_ms())
                changed += 1
    return changed
