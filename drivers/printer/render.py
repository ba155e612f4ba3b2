"""Laying out parsed ESC/POS operations as a paper ticket: text for tests, PNG for eyes.

Geometry follows a real 203-dpi printer with Font A: a half-width character is 12 x 24
dots, a CJK character 24 x 24, both scaled by GS ! (w, h); 58 mm paper prints 384
dots, 80 mm 576. The CJK font is found on the system (Noto Sans Mono CJK SC, then
WenQuanYi Zen Hei Mono), else Pillow's default font.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from drivers.printer.escpos import DOTS_PER_COLUMN, char_columns, text_columns
from drivers.printer.parser import Op

LINE_DOTS = 30  # default line spacing (1/6 inch)
MARGIN = 16

# (path, face index) candidates, monospaced faces first so the grid matches a printer.
_FONT_CANDIDATES: list[tuple[str, int]] = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-{w}.ttc", 7),  # Noto Sans Mono CJK SC
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-{w}.ttc", 2),  # Noto Sans CJK SC
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 1),  # WenQuanYi Zen Hei Mono
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 1),
]


@lru_cache(maxsize=64)
def cjk_font(px: int, strong: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A CJK-capable font at ``px`` pixels, or Pillow's default when none is installed."""
    for pattern, index in _FONT_CANDIDATES:
        path = pattern.format(w="Bold" if strong else "Regular")
        if os.path.exists(path):
            try:
                return ImageFont.truetype(path, px, index=index)
            except OSError:
                continue
    try:
        return ImageFont.load_default(size=px)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


@dataclass
class Run:
    """Text printed with one size and weight."""

    text: str
    width: int
    height: int
    strong: bool


@dataclass
class Block:
    """One printed line (runs), an image (QR or raster) or blank feed."""

    kind: str  # "line" | "image" | "feed"
    align: str = "left"
    runs: list[Run] = field(default_factory=list)
    image: Image.Image | None = None
    label: str = ""
    dots: int = 0  # feed height
    qr: tuple[bytes, int] | None = None  # (data, module dots): drawn only when a PNG is asked for

    def picture(self) -> Image.Image | None:
        """The block's image; a QR symbol is rendered on first use (it is slow, and text needs none)."""
        if self.image is None and self.qr is not None:
            self.image = _qr_image(*self.qr)
        return self.image


@dataclass
class Page:
    """Accumulates operations until a cut; the result is a list of blocks."""

    columns: int = 48
    blocks: list[Block] = field(default_factory=list)
    align: str = "left"
    strong: bool = False
    width: int = 1
    height: int = 1
    qr_size: int = 3
    qr_data: bytes = b""
    _line: list[Run] = field(default_factory=list)
    _line_align: str | None = None
    overflow: int = 0

    def apply(self, op: Op) -> None:
        """Apply one operation (``cut`` and ``status`` are handled by the caller)."""
        name, args = op.name, op.args
        if name == "text":
            if self._line_align is None:
                self._line_align = self.align
            self._line.append(Run(args[0], self.width, self.height, self.strong))
        elif name == "lf":
            self._end_line(blank_if_empty=True)
        elif name == "feed":
            self._end_line(blank_if_empty=False)
            if args[0]:
                self.blocks.append(Block("feed", dots=LINE_DOTS * args[0]))
        elif name == "feed_dots":
            self._end_line(blank_if_empty=False)
            self.blocks.append(Block("feed", dots=args[0]))
        elif name == "init":
            self.align, self.strong, self.width, self.height = "left", False, 1, 1
        elif name == "align":
            self.align = args[0]
        elif name == "bold":
            self.strong = args[0]
        elif name == "size":
            self.width, self.height = args
        elif name == "qr_size":
            self.qr_size = max(1, min(16, args[0]))
        elif name == "qr_store":
            self.qr_data = args[0]
        elif name == "qr_print":
            self._end_line(blank_if_empty=False)
            self.blocks.append(Block("image", self.align, qr=(self.qr_data, self.qr_size),
                                     label="[二维码 " + self.qr_data.decode("utf-8", "replace") + "]"))
        elif name == "raster":
            self._end_line(blank_if_empty=False)
            w, h, data = args
            self.blocks.append(Block("image", self.align, image=_raster_image(w, h, data), label=f"[图像 {w}x{h}]"))

    def finish(self) -> None:
        """End the page (at a cut): print what is left in the line buffer."""
        self._end_line(blank_if_empty=False)

    def _end_line(self, *, blank_if_empty: bool) -> None:
        if self._line:
            used = sum(text_columns(r.text) * r.width for r in self._line)
            if used > self.columns:
                self.overflow += 1
            self.blocks.append(Block("line", self._line_align or self.align, runs=self._line))
        elif blank_if_empty:
            self.blocks.append(Block("feed", dots=LINE_DOTS * self.height))
        self._line, self._line_align = [], None

    # --- output ------------------------------------------------------------------------

    def text(self) -> str:
        """The ticket as plain text, aligned within the paper's columns."""
        out: list[str] = []
        for block in self.blocks:
            if block.kind == "feed":
                out.append("")
                continue
            content = "".join(r.text for r in block.runs) if block.kind == "line" else block.label
            used = text_columns(content)
            pad = 0
            if block.align == "center":
                pad = max(0, (self.columns - used) // 2)
            elif block.align == "right":
                pad = max(0, self.columns - used)
            out.append(" " * pad + content)
        while out and not out[-1]:
            out.pop()
        return "\n".join(out)

    def png(self) -> bytes:
        """The ticket drawn as a receipt image (PNG bytes)."""
        paper = self.columns * DOTS_PER_COLUMN
        pieces: list[tuple[Image.Image | None, str, int]] = []
        for block in self.blocks:
            if block.kind == "feed":
                pieces.append((None, "left", block.dots))
            elif block.kind == "image" and (picture := block.picture()) is not None:
                pieces.append((picture, block.align, picture.height))
            else:
                for line_img in _line_images(block.runs, paper):
                    pieces.append((line_img, block.align, line_img.height))
        total = sum(h for _, _, h in pieces) + 2 * MARGIN
        canvas = Image.new("L", (paper + 2 * MARGIN, max(total, 2 * MARGIN + 1)), 255)
        y = MARGIN
        for piece, where, h in pieces:
            if piece is not None:
                x = MARGIN
                if where == "center":
                    x += max(0, (paper - piece.width) // 2)
                elif where == "right":
                    x += max(0, paper - piece.width)
                canvas.paste(piece, (x, y))
            y += h
        buf = io.BytesIO()
        canvas.save(buf, "PNG", optimize=False)
        return buf.getvalue()


def _line_images(runs: list[Run], paper: int) -> list[Image.Image]:
    """Draw runs on a grid of cells; wrap at the paper edge like the printer does."""
    cells: list[tuple[str, Run]] = [(ch, r) for r in runs for ch in r.text]
    lines: list[list[tuple[str, Run]]] = [[]]
    used = 0
    for ch, run in cells:
        w = char_columns(ch) * DOTS_PER_COLUMN * run.width
        if used + w > paper and lines[-1]:
            lines.append([])
            used = 0
        lines[-1].append((ch, run))
        used += w
    images = []
    for line in lines:
        width = sum(char_columns(ch) * DOTS_PER_COLUMN * r.width for ch, r in line) or 1
        height = max((24 * r.height for _, r in line), default=24) + (LINE_DOTS - 24)
        img = Image.new("L", (width, height), 255)
        x = 0
        for ch, r in line:
            cell_w = char_columns(ch) * DOTS_PER_COLUMN * r.width
            glyph = _glyph(ch, r.width, r.height, r.strong)
            img.paste(glyph, (x, height - glyph.height - (LINE_DOTS - 24)))
            x += cell_w
        images.append(img)
    return images


@lru_cache(maxsize=4096)
def _glyph(ch: str, width: int, height: int, strong: bool) -> Image.Image:
    """One character in its printer cell (12 or 24 dots wide, 24 high, times the size)."""
    cols = char_columns(ch)
    base_w, base_h = cols * DOTS_PER_COLUMN, 24
    px = base_h * height
    font = cjk_font(px - 2 * height, strong)
    cell = Image.new("L", (base_w * height, px), 255)
    draw = ImageDraw.Draw(cell)
    draw.text((cell.width // 2, px // 2), ch, fill=0, font=font, anchor="mm")
    if width != height:
        cell = cell.resize((base_w * width, px))
    return cell


def _qr_image(data: bytes, module: int) -> Image.Image:
    """Render the stored QR data as the printer would (model 2, level L, 2-module margin)."""
    import qrcode

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, box_size=module, border=2)
    qr.add_data(data or b" ")
    try:
        qr.make(fit=True)
    except Exception:  # data too long for any QR version: the printer prints nothing
        return Image.new("L", (1, 1), 255)
    img: Any = qr.make_image(fill_color="black", back_color="white")
    out: Image.Image = img.get_image().convert("L")
    return out


def _raster_image(width: int, height: int, data: bytes) -> Image.Image:
    """A GS v 0 image: 1 bits are black dots."""
    img = Image.frombytes("1", (width, height), bytes(b ^ 0xFF for b in data))
    return img.convert("L")
