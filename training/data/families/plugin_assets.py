"""Files for the plugin conversations: receipts, signs and notices to read, photos to inspect and edit, QR
codes to scan. Each comes with the facts it holds, so an answer can be checked against what the tool read."""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

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


_SHOPS = ["COFFEE HOUSE", "CITY MART", "GREEN GROCER", "BOOK NOOK", "NOODLE BAR", "CORNER BAKERY", "TECH STORE"]
_GOODS = [("Latte", 3, 6), ("Bagel", 1, 4), ("Apples", 2, 8), ("Milk", 1, 4), ("Notebook", 2, 9), ("Pen", 1, 3),
          ("Soup", 4, 9), ("Bread", 2, 6), ("Cable", 5, 20), ("Tea", 2, 5), ("Rice", 3, 12), ("Cake", 3, 7)]


def receipt(rng: random.Random, stem: Path) -> tuple[Path, Asset]:
    items = rng.sample(_GOODS, rng.randint(2, 4))
    prices = [round(rng.uniform(lo, hi), 2) for _, lo, hi in items]
    total = round(sum(prices), 2)
    lines = [rng.choice(_SHOPS)] + [f"{n}  {p:.2f}" for (n, _, _), p in zip(items, prices)] + [f"TOTAL  {total:.2f}"]
    return _text_image(lines, rng, FONT_EN, stem), Asset("receipt", {"total": f"{total:.2f}", "lines": lines})


# Many words and many files: with 8 words on 14 signs, v5 learned the 14 passwords by heart and answered one of
# them ("river67") for a sign that read "sunset42". The answer has to be copied from what the tool read.
_WORDS = ["sunflower", "blueberry", "mountain", "river", "panda", "orange", "maple", "rocket", "tiger", "lemon",
          "harbor", "cobalt", "meadow", "falcon", "pepper", "violet", "canyon", "walnut", "glacier", "mango",
          "ember", "otter", "cedar", "comet", "willow", "pebble", "thunder", "koala", "saffron", "lantern",
          "coral", "breeze", "juniper", "marble", "nectar", "puffin", "quartz", "sparrow", "tulip", "zephyr"]


# Made-up words as well: v12 still answered "pepper83" for a sign reading "blueberry83" (both in _WORDS) and
# "shop.example.org/event/364" for a QR code holding "example.com/menu/364". It copied the digits, one token each,
# and recalled the words. A word met once cannot be recalled, only copied.
_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "ch", "gr", "sh", "st", "tr"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ou", "ee"]
_CODAS = ["", "", "", "n", "r", "l", "s", "x", "m"]


def made_up_word(rng: random.Random) -> str:
    return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(rng.randint(2, 3))) + rng.choice(_CODAS)


def word(rng: random.Random) -> str:
    return rng.choice(_WORDS) if rng.random() < 0.5 else made_up_word(rng)


def sign(rng: random.Random, stem: Path) -> tuple[Path, Asset]:
    password = f"{word(rng)}{rng.randint(10, 99)}"
    hours = f"{rng.randint(7, 10)}:00 - {rng.randint(17, 22)}:00"
    lines = [rng.choice(["WELCOME", "GUEST INFO", "CAFE"]), f"WIFI PASSWORD: {password}", f"OPEN {hours}"]
    return _text_image(lines, rng, FONT_EN, stem), Asset("sign", {"password": password, "hours": hours, "lines": lines})


# Times and places are composed from parts (a few thousand of each), so the model has to copy them.
_DAYS = ["", "", "明天", "后天", "周一", "周二", "周三", "周四", "周五", "周六", "本周五", "下周一"]
_HOURS = {"上午": "八九十", "下午": "一二三四五", "晚上": "六七八"}
_ROOMS = ["会议室", "小会议室", "报告厅", "活动室", "教室", "阅览室", "多功能厅"]
_BUILDINGS = ["", "", "图书馆", "行政楼", "实验楼", "一号楼", "二号楼", "教学楼"]
_TOPICS = ["项目进度会", "新年联欢会", "安全培训", "读书分享会", "部门例会", "消防演练", "志愿者招募", "期末总结会",
           "新员工培训", "篮球比赛", "家长会", "健康讲座"]


def notice_time(rng: random.Random) -> str:
    period = rng.choice(list(_HOURS))
    return f"{rng.choice(_DAYS)}{period}{rng.choice(_HOURS[period])}点{rng.choice(['', '', '半'])}"


def notice_place(rng: random.Random) -> str:
    if rng.random() < 0.25:
        return f"{rng.randint(1, 6)}{rng.randint(0, 2)}{rng.randint(1, 9)}{rng.choice(['教室', '室', '会议室'])}"
    return f"{rng.choice(_BUILDINGS)}{'一二三四五六'[rng.randint(0, 5)]}楼{rng.choice(_ROOMS)}"


def notice_zh(rng: random.Random, stem: Path) -> tuple[Path, Asset]:
    time, place, topic = notice_time(rng), notice_place(rng), rng.choice(_TOPICS)
    lines = [f"通知：{topic}", f"时间：{time}", f"地点：{place}"]
    return _text_image(lines, rng, FONT_ZH, stem), Asset("notice_zh", {"time": time, "place": place, "lines": lines})


_CAMERAS = [("Canon", "EOS 80D"), ("NIKON CORPORATION", "NIKON D750"), ("Apple", "iPhone 13"), ("SONY", "ILCE-7M3"),
            ("Xiaomi", "Mi 11"), ("HUAWEI", "P40")]
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
        make, model = rng.choice(_CAMERAS)
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


def qr_data(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.35:
        host = rng.choice(["example.com", "shop.example.org", "menu.example.net", f"{word(rng)}.example.com",
                           f"www.{word(rng)}.{rng.choice(['com', 'org', 'net', 'cn'])}"])
        path = rng.choice(["menu", "order", "docs", "pay", "event", word(rng)])
        return f"https://{host}/{path}/{rng.randint(1, 999)}"
    if r < 0.55:
        ssid = rng.choice(["CoffeeBar", "HomeNet", "Library", "Office-5G", word(rng).capitalize()])
        return f"WIFI:S:{ssid};T:WPA;P:{word(rng)}{rng.randint(10, 99)};;"
    if r < 0.75:
        return rng.choice(["Table ", "Order #", "Seat ", "Ticket "]) + str(rng.randint(1, 9999))
    return rng.choice(["你好，欢迎光临", "会员卡号 ", "取餐号 "]) + str(rng.randint(100, 999))


def qr(rng: random.Random, stem: Path) -> tuple[Path, Asset]:
    import qrcode
    data = qr_data(rng)
    img = qrcode.make(data, box_size=rng.randint(4, 10), border=rng.randint(2, 6)).convert("RGB")
    path = stem.with_suffix(".png")
    img.save(path)
    return path, Asset("qr", {"data": data})


ASSETS = {
    "receipt": AssetKind(receipt, {"train": 48, "heldout": 8}, ["receipt", "IMG_2041", "scan", "bill", "小票"]),
    "sign": AssetKind(sign, {"train": 90, "heldout": 8}, ["sign", "photo", "IMG_0832", "wifi"]),
    "notice_zh": AssetKind(notice_zh, {"train": 70, "heldout": 8}, ["通知", "notice", "截图", "IMG_5521"]),
    "photo": AssetKind(photo, {"train": 40, "heldout": 12}, ["photo", "IMG_1234", "picture", "照片", "DSC_0042"]),
    "qr": AssetKind(qr, {"train": 800, "heldout": 40}, ["qrcode", "qr", "二维码", "IMG_7781", "code"]),
}
