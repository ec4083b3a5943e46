"""The invitation pack a manager is sent: for each firm a printable A4 sheet (PNG), its QR code
alone (PNG) and a line of ``invitations.csv`` (name, national ID, mobile, link, SMS text), in one
ZIP file. Built in the worker process (``run_heavy(build_pack, …)``): segno makes the QR matrix
(pure Python), Pillow draws it; the texts arrive already translated.

The sheets use DejaVu Sans, which ships with matplotlib and covers the Arabic script with the
Persian letters; Pillow lays Persian out right to left itself when it has libraqm, else the
text is shaped with arabic-reshaper and reordered with python-bidi first.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from dataclasses import dataclass

#: A4 at 150 dpi.
PAGE = (1240, 1754)
MARGIN = 90
#: Pixels per QR module in the QR-only PNG, and the quiet zone around it (modules).
QR_SCALE = 10
QR_BORDER = 4
#: The QR's side on the sheet, at most (pixels).
SHEET_QR = 760
INK = (20, 33, 61)
MUTED = (90, 98, 115)
ACCENT = (28, 110, 90)


@dataclass(frozen=True)
class SheetCard:
    """One firm's sheet; every text already in the manager's language."""

    number: int
    link: str
    sms: str
    name: str
    national_id: str
    mobile: str
    #: The lines above the code (title, estate, firm, ID) and below it (how to use it).
    heading: tuple[str, ...]
    footer: tuple[str, ...]


def qr_matrix(link: str) -> tuple[tuple[int, ...], ...]:
    """The QR code of ``link`` (error correction M), one tuple of 0/1 per row, no quiet zone."""
    import segno

    code = segno.make_qr(link, error="m", boost_error=False)
    return tuple(tuple(int(bool(v)) for v in row) for row in code.matrix)


def qr_png(link: str, scale: int = QR_SCALE, border: int = QR_BORDER) -> bytes:
    """The QR code alone: ``scale`` pixels a module, ``border`` modules of white around it."""
    from PIL import Image

    image = _qr_image(qr_matrix(link), scale, border)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    assert isinstance(image, Image.Image)
    return out.getvalue()


def _qr_image(matrix: tuple[tuple[int, ...], ...], scale: int, border: int):  # type: ignore[no-untyped-def]
    from PIL import Image, ImageDraw

    side = (len(matrix) + 2 * border) * scale
    image = Image.new("L", (side, side), 255)
    draw = ImageDraw.Draw(image)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                left, top = (x + border) * scale, (y + border) * scale
                draw.rectangle((left, top, left + scale - 1, top + scale - 1), fill=0)
    return image


def _font_path(bold: bool) -> str:
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return os.path.join(matplotlib.get_data_path(), "fonts", "ttf", name)


_RTL = re.compile("[\u0600-\u06ff\ufb50-\ufdff\ufe70-\ufeff]")


def _laid_out(text: str) -> tuple[str, str | None, str | None]:
    """The text, the direction and the language Pillow draws it with: right to left for Persian."""
    from PIL import features

    if not _RTL.search(text):
        return text, None, None
    if features.check("raqm"):
        return text, "rtl", "fa"
    import arabic_reshaper
    from bidi import get_display

    return str(get_display(arabic_reshaper.reshape(text))), None, None


def _wrap(draw, text: str, font, width: int) -> list[str]:  # type: ignore[no-untyped-def]
    words, lines, current = text.split(), [], ""
    for word in words:
        candidate = f"{current} {word}".strip()
        shown, direction, language = _laid_out(candidate)
        if current and draw.textlength(shown, font=font, direction=direction, language=language) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def sheet_png(card: SheetCard) -> bytes:
    """A printable A4 page: the heading lines, the QR code in the middle, the link under it and
    the footer's instructions, every line centred."""
    from PIL import Image, ImageDraw, ImageFont

    page = Image.new("RGB", PAGE, "white")
    draw = ImageDraw.Draw(page)
    fonts = {
        "title": ImageFont.truetype(_font_path(True), 58),
        "big": ImageFont.truetype(_font_path(True), 46),
        "text": ImageFont.truetype(_font_path(False), 34),
        "link": ImageFont.truetype(_font_path(False), 26),
    }
    width = PAGE[0] - 2 * MARGIN
    y = MARGIN

    def line(text: str, font_key: str, colour: tuple[int, int, int], gap: int = 18) -> None:
        nonlocal y
        font = fonts[font_key]
        for part in _wrap(draw, text, font, width):
            shown, direction, language = _laid_out(part)
            length = draw.textlength(shown, font=font, direction=direction, language=language)
            draw.text(((PAGE[0] - length) / 2, y), shown, font=font, fill=colour, direction=direction, language=language)
            y += int(font.size * 1.35)
        y += gap

    styles = [("title", ACCENT), ("text", MUTED), ("big", INK), ("text", INK)]
    for index, text in enumerate(card.heading):
        key, colour = styles[min(index, len(styles) - 1)]
        line(text, key, colour)
    draw.line((MARGIN, y, PAGE[0] - MARGIN, y), fill=(210, 214, 222), width=3)
    y += 30
    matrix = qr_matrix(card.link)
    scale = max(1, SHEET_QR // (len(matrix) + 2 * QR_BORDER))
    code = _qr_image(matrix, scale, QR_BORDER).convert("RGB")
    page.paste(code, ((PAGE[0] - code.width) // 2, y))
    y += code.height + 16
    # The link on one line: a long bot name gets a smaller font rather than a broken link.
    size = fonts["link"].size
    while size > 14 and draw.textlength(card.link, font=fonts["link"]) > width:
        size -= 1
        fonts["link"] = ImageFont.truetype(_font_path(False), size)
    line(card.link, "link", INK, gap=30)
    for text in card.footer:
        line(text, "text", MUTED, gap=8)
    out = io.BytesIO()
    # Sixteen colours hold the ink, the accents and their anti-aliasing: a third of the RGB size.
    # (Fast octree: a quarter of median cut's time, the same size.)
    page.quantize(colors=16, method=Image.Quantize.FASTOCTREE).save(out, format="PNG")
    return out.getvalue()


def build_pack(cards: list[SheetCard], csv_header: tuple[str, ...]) -> bytes:
    """The ZIP: ``sheets/NNN.png``, ``qr/NNN.png`` and ``invitations.csv`` (UTF-8 with a BOM, so
    Excel reads the Persian)."""
    out = io.BytesIO()
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\r\n")
    writer.writerow(["#", *csv_header])
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as pack:
        for card in cards:
            stem = f"{card.number:03d}"
            # PNGs are compressed already: stored as they are.
            pack.writestr(f"sheets/{stem}.png", sheet_png(card), compress_type=zipfile.ZIP_STORED)
            pack.writestr(f"qr/{stem}.png", qr_png(card.link), compress_type=zipfile.ZIP_STORED)
            writer.writerow([stem, card.name, card.national_id, card.mobile, card.link, card.sms])
        pack.writestr("invitations.csv", "\ufeff" + table.getvalue())
    return out.getvalue()
