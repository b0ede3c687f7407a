"""Files for the plugin conversations: receipts, signs and notices to read, photos to inspect and edit, QR
codes to scan. Each comes with the facts it holds, so an answer can be checked against what the tool read."""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from puyu.training.data.phrasing import phrasebook

_BOOK = phrasebook("plugin_assets")

FONT_EN = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
FONT_ZH = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


@dataclass
class Asset:
    kind: str
    facts: dict = field(default_factory=dict)


@dataclass
class AssetKind:
    make: Callable[[random.Random, Path], tuple[Path, Asset]]
    pool: dict
    """How many distinct files per split (held-out files are never seen in train)."""
    names: list[str]
    """File names a user's upload might have."""


def _font(path: str, size: int):
    try:
        return ImageFont.truetype(path, size)
    except OSError:  # the font package is missing: PIL's own font still gives OCR something to read
        return ImageFont.load_default(size)


def _text_image(lines: list[str], rng: random.Random, font_path: str, stem: Path) -> Path:
    size = rng.randint(22, 30)
    font = _font(font_path, size)
    width = max(int(font.getlength(line)) for line in lines) + 2 * rng.randint(20, 40)
    height = (size + rng.randint(12, 20)) * len(lines) + 2 * rng.randint(15, 30)
    shade = rng.randint(235, 255)
    img = Image.new("RGB", (width, height), (shade, shade, rng.randint(225, 255)))
    draw = ImageDraw.Draw(img)
    y = rng.randint(15, 30)
    for line in lines:
        draw.text((rng.randint(20, 30), y), line, fill=(rng.randint(0, 40),) * 3, font=font)
        y += size + rng.randint(12, 20)
    path = stem.with_suffix(".png")
    img.save(path)
    return path


_SHOPS = _BOOK.table("shops")
_GOODS = _BOOK.table("goods")
"""{name, low, high}: an item and the range of its price."""


def receipt(rng: random.Random, stem: Path) -> tuple[Path, Asset]:
    items = rng.sample(_GOODS, rng.randint(2, 4))
    prices = [round(rng.uniform(item["low"], item["high"]), 2) for item in items]
    total = round(sum(prices), 2)
    lines = [rng.choice(_SHOPS), *(f"{item['name']}  {p:.2f}" for item, p in zip(items, prices)), f"TOTAL  {total:.2f}"]
    return _text_image(lines, rng, FONT_EN, stem), Asset("receipt", {"total": f"{total:.2f}", "lines": lines})


# Many words and many files: with 8 words on 14 signs, v5 learned the 14 passwords by heart and answered one of
# them ("river67") for a sign that read "sunset42". The answer has to be copied from what the tool read.
_WORDS = _BOOK.table("words")
_SIGN_HEADINGS = _BOOK.table("sign_headings")


def sign(rng: random.Random, stem: Path) -> tuple[Path, Asset]:
    password = f"{rng.choice(_WORDS)}{rng.randint(10, 99)}"
    hours = f"{rng.randint(7, 10)}:00 - {rng.randint(17, 22)}:00"
    lines = [rng.choice(_SIGN_HEADINGS), f"WIFI PASSWORD: {password}", f"OPEN {hours}"]
    return _text_image(lines, rng, FONT_EN, stem), Asset("sign", {"password": password, "hours": hours, "lines": lines})


_TIMES = _BOOK.table("notice_times")
_PLACES = _BOOK.table("notice_places")
_TOPICS = _BOOK.table("notice_topics")


def notice_zh(rng: random.Random, stem: Path) -> tuple[Path, Asset]:
    time, place, topic = rng.choice(_TIMES), rng.choice(_PLACES), rng.choice(_TOPICS)
    lines = [f"通知：{topic}", f"时间：{time}", f"地点：{place}"]
    return _text_image(lines, rng, FONT_ZH, stem), Asset("notice_zh", {"time": time, "place": place, "lines": lines})


_CAMERAS = _BOOK.table("cameras")
"""{make, model}: what a photo's EXIF says took it."""
_SIZES = [(640, 480), (800, 600), (1024, 768), (1280, 720), (300, 300), (1080, 1080), (720, 1280), (1600, 900)]


def photo(rng: random.Random, stem: Path) -> tuple[Path, Asset]:
    w, h = rng.choice(_SIZES)
    base = tuple(rng.randint(0, 255) for _ in range(3))
    img = Image.new("RGB", (w, h), base)
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(1, 6)):
        x0, y0 = rng.randint(0, w - 20), rng.randint(0, h - 20)
        box = (x0, y0, rng.randint(x0 + 10, w), rng.randint(y0 + 10, h))
        colour = tuple(rng.randint(0, 255) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    facts = {"width": w, "height": h}
    if rng.random() < 0.6:
        camera = rng.choice(_CAMERAS)
        make, model = camera["make"], camera["model"]
        taken = f"{rng.randint(2015, 2024)}:{rng.randint(1, 12):02d}:{rng.randint(1, 28):02d} " \
                f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
        exif = Image.Exif()
        exif[0x010F], exif[0x0110], exif[0x0132] = make, model, taken
        path = stem.with_suffix(".jpg")
        img.save(path, quality=85, exif=exif)
        facts.update(format="JPEG", make=make, model=model, taken=taken)
    else:
        path = stem.with_suffix(".png")
        img.save(path)
        facts.update(format="PNG")
    return path, Asset("photo", facts)


_QR = _BOOK.table("qr")
"""What QR codes hold: sites and paths of links, WiFi network names, labels before a number."""


def qr_data(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.35:
        return f"https://{rng.choice(_QR['sites'])}/{rng.choice(_QR['paths'])}/{rng.randint(1, 999)}"
    if r < 0.55:
        return f"WIFI:S:{rng.choice(_QR['networks'])};T:WPA;P:{rng.choice(_WORDS)}{rng.randint(10, 99)};;"
    if r < 0.75:
        return rng.choice(_QR["labels"]) + str(rng.randint(1, 9999))
    return rng.choice(_QR["labels_zh"]) + str(rng.randint(100, 999))


def qr(rng: random.Random, stem: Path) -> tuple[Path, Asset]:
    import qrcode
    data = qr_data(rng)
    img = qrcode.make(data, box_size=rng.randint(4, 10), border=rng.randint(2, 6)).convert("RGB")
    path = stem.with_suffix(".png")
    img.save(path)
    return path, Asset("qr", {"data": data})


_NAMES = _BOOK.table("upload_names")
ASSETS = {
    "receipt": AssetKind(receipt, {"train": 48, "heldout": 8}, _NAMES["receipt"]),
    "sign": AssetKind(sign, {"train": 60, "heldout": 8}, _NAMES["sign"]),
    "notice_zh": AssetKind(notice_zh, {"train": 40, "heldout": 8}, _NAMES["notice_zh"]),
    "photo": AssetKind(photo, {"train": 40, "heldout": 12}, _NAMES["photo"]),
    "qr": AssetKind(qr, {"train": 400, "heldout": 40}, _NAMES["qr"]),
}
