"""Image tools on real files made here: OCR (English + Chinese), QR and barcode round trips, faces,
inspection and edits, and the errors bad input gets — all through the Toolbox, as the agent calls them."""
import json
import subprocess
from pathlib import Path

import matplotlib
import pytest
from PIL import Image, ImageDraw, ImageFont
from puyu.tools.base import Toolbox
from puyu.tools.ocr import OCR, join_words
from puyu.tools.qr import QRMake, QRRead
from puyu.tools.vision import FaceDetect, ImageEdit, ImageInfo

from puyu.core.messages import ToolCall

GRACE = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def cjk_font() -> str | None:
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    files = [line.split(":")[0].strip() for line in out.splitlines() if line.strip()]
    return sorted(files)[0] if files else None


@pytest.fixture
def box(tmp_path):
    return Toolbox([OCR(tmp_path), QRRead(tmp_path), QRMake(tmp_path), FaceDetect(tmp_path), ImageInfo(tmp_path),
                    ImageEdit(tmp_path)], workdir=tmp_path)


def run(box, name, **args):
    return box.run(ToolCall(name, args))


def test_ocr_reads_english_and_chinese(box, tmp_path):
    font = cjk_font()
    if font is None:
        pytest.skip("no CJK font (fc-list :lang=zh is empty); install fonts-wqy-zenhei")
    img = Image.new("RGB", (900, 200), "white")
    draw = ImageDraw.Draw(img)
    draw.text((30, 30), "Invoice number 4821 for Puyu Labs", font=ImageFont.truetype(font, 32), fill="black")
    draw.text((30, 110), "今天天气很好，我们去公园散步。", font=ImageFont.truetype(font, 32), fill="black")
    img.save(tmp_path / "mixed.png")

    res = run(box, "ocr", image=str(tmp_path / "mixed.png"))
    assert res.ok, res.text
    data = json.loads(res.text.split("\n[image:")[0])
    assert "Invoice number 4821" in data["text"]
    assert "今天天气很好" in data["text"] and "公园散步" in data["text"]  # no spaces between Chinese words
    assert set(data["languages"]) == {"eng", "chi_sim"}
    first = next(line for line in data["lines"] if "Invoice" in line["text"])
    left, top, right, bottom = first["box"]
    assert 20 <= left <= 40 and 20 <= top <= 45 and 400 < right < 700 and bottom < 110
    assert len(res.images) == 1 and Path(res.images[0]).parent == tmp_path
    assert Image.open(res.images[0]).size == img.size

    english_only = json.loads(run(box, "ocr", image=str(tmp_path / "mixed.png"), lang="eng").text.split("\n[")[0])
    assert "今天" not in english_only["text"]


def test_join_words_spaces_only_alphabetic_words():
    assert join_words(["Hello", "world", "你", "好", "OK"]) == "Hello world你好OK"


def test_qr_round_trip_with_chinese_text(box):
    made = run(box, "qr_make", text="https://example.com/订单?id=42")
    assert made.ok and made.images
    read = run(box, "qr_read", image=made.images[0])
    codes = json.loads(read.text)["codes"]
    assert [c["data"] for c in codes] == ["https://example.com/订单?id=42"]
    assert codes[0]["type"] == "QR"


EAN_L = ["0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011", "0110111", "0001011"]
EAN_PARITY = ["LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL"]


def ean13_image(digits: str, module: int = 3) -> Image.Image:
    """An EAN-13 barcode drawn from the standard's encoding tables (no barcode library needed)."""
    r = ["".join("1" if b == "0" else "0" for b in code) for code in EAN_L]
    g = [code[::-1] for code in r]
    bits = "101"
    for d, parity in zip(digits[1:7], EAN_PARITY[int(digits[0])]):
        bits += (EAN_L if parity == "L" else g)[int(d)]
    bits += "01010" + "".join(r[int(d)] for d in digits[7:]) + "101"
    height = 60 * module  # about the standard's proportions
    img = Image.new("L", ((len(bits) + 20) * module, height + 20 * module), 255)
    draw = ImageDraw.Draw(img)
    for i, bit in enumerate(bits):
        if bit == "1":
            draw.rectangle([(i + 10) * module, 10 * module, (i + 11) * module - 1, 10 * module + height], fill=0)
    return img


@pytest.mark.parametrize("module", [1, 3, 6])  # bar widths in pixels: OpenCV alone reads only ~2 px bars
def test_barcode_is_read_at_any_size(box, tmp_path, module):
    ean13_image("4006381333931", module).save(tmp_path / "ean.png")
    codes = json.loads(run(box, "qr_read", image=str(tmp_path / "ean.png")).text)["codes"]
    assert [(c["type"], c["data"]) for c in codes] == [("EAN_13", "4006381333931")]
    left, top, right, bottom = codes[0]["box"]
    assert left < 15 * module and right > 95 * module  # boxes are in the input image's pixels


def test_no_code_found_says_so(box, tmp_path):
    Image.new("RGB", (200, 200), "white").save(tmp_path / "blank.png")
    out = json.loads(run(box, "qr_read", image=str(tmp_path / "blank.png")).text)
    assert out["codes"] == [] and "No QR code" in out["note"]


@pytest.mark.skipif(not GRACE.exists(), reason="matplotlib's sample photo grace_hopper.jpg is not installed")
def test_face_detect_finds_the_face(box, tmp_path):
    (tmp_path / "grace.jpg").write_bytes(GRACE.read_bytes())  # tools open only the conversation's own files
    res = run(box, "face_detect", image="grace.jpg")
    data = json.loads(res.text.split("\n[image:")[0])
    assert data["count"] == 1
    left, top, right, bottom = data["faces"][0]
    assert 100 < left < 250 and 50 < top < 250 and right - left > 100  # her face, in the 512x600 photo
    assert Image.open(res.images[0]).size == Image.open(GRACE).size

    big = Image.open(GRACE).resize((2048, 2400))  # detected on a downscaled copy, boxes scaled back
    big.save(tmp_path / "big.jpg")
    [big_box] = json.loads(run(box, "face_detect", image=str(tmp_path / "big.jpg")).text.split("\n[")[0])["faces"]
    assert big_box == pytest.approx([4 * v for v in data["faces"][0]], rel=0.1)

    Image.new("RGB", (300, 300), "gray").save(tmp_path / "gray.png")
    assert json.loads(run(box, "face_detect", image=str(tmp_path / "gray.png")).text.split("\n[")[0])["count"] == 0


def test_image_edit_then_inspect(box, tmp_path):
    img = Image.new("RGB", (400, 300), (255, 0, 0))
    ImageDraw.Draw(img).rectangle([0, 0, 99, 299], fill=(0, 0, 255))
    img.save(tmp_path / "flag.jpg", exif=_exif(model="PuyuCam"))

    info = json.loads(run(box, "image_info", image=str(tmp_path / "flag.jpg")).text)
    assert (info["width"], info["height"], info["format"]) == (400, 300, "JPEG")
    assert info["exif"]["Model"] == "PuyuCam"
    (red, red_share), (blue, blue_share) = [(_rgb(c["hex"]), c["share"]) for c in info["dominant_colours"][:2]]
    assert _near(red, (255, 0, 0)) and red_share == pytest.approx(0.75, abs=0.03)
    assert _near(blue, (0, 0, 255)) and blue_share == pytest.approx(0.25, abs=0.03)

    crop = run(box, "image_edit", image=str(tmp_path / "flag.jpg"), operation="crop", x0=0, y0=0, x1=100, y1=50)
    assert crop.ok and Image.open(crop.images[0]).size == (100, 50)
    r, g, b = Image.open(crop.images[0]).convert("RGB").getpixel((50, 25))
    assert b > 200 and r < 60  # the blue stripe

    resized = run(box, "image_edit", image=crop.images[0], operation="resize", width=50)
    assert Image.open(resized.images[0]).size == (50, 25)
    rotated = run(box, "image_edit", image=str(tmp_path / "flag.jpg"), operation="rotate", angle=90)
    assert Image.open(rotated.images[0]).size == (300, 400)
    gray = run(box, "image_edit", image=str(tmp_path / "flag.jpg"), operation="grayscale")
    assert Image.open(gray.images[0]).mode == "L"
    edges = Image.open(run(box, "image_edit", image=str(tmp_path / "flag.jpg"), operation="edges").images[0])
    column = [edges.getpixel((x, 150)) for x in range(90, 110)]
    assert max(column) == 255 and edges.getpixel((250, 150)) == 0  # an edge at the stripe, none inside red


def _rgb(hex_colour: str) -> tuple[int, ...]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def _near(a, b, tolerance=12) -> bool:  # JPEG shifts colours a little
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


def _exif(model: str) -> bytes:
    exif = Image.Exif()
    exif[0x0110] = model  # Model
    return exif.tobytes()


def test_bad_input_gets_clear_errors(box, tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    Image.new("RGB", (10, 10)).save(tmp_path / "small.png")
    Image.effect_noise((200, 200), 50).save(tmp_path / "noise.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "noise.png").read_bytes()[:3000])
    cases = {
        "damaged image": dict(image=str(tmp_path / "cut.png")),
        "No such file": dict(image=str(tmp_path / "missing.png")),
        "not an image": dict(image=str(tmp_path / "notes.txt")),
        "lang must be one of": dict(image=str(tmp_path / "small.png"), lang="klingon"),
        "must be STRING": dict(image=42),
        "unknown argument": dict(image=str(tmp_path / "small.png"), colour="red"),
        "missing required": dict(),
    }
    for expected, args in cases.items():
        res = run(box, "ocr", **args)
        assert not res.ok and expected in res.text, (expected, res.text)
        assert "Traceback" not in res.text and "ToolError(" not in res.text

    crop = run(box, "image_edit", image=str(tmp_path / "small.png"), operation="crop", x0=0, y0=0, x1=50, y1=5)
    assert not crop.ok and "crop box" in crop.text
    assert "operation must be one of" in run(box, "image_edit", image=str(tmp_path / "small.png"),
                                             operation="blur").text


def test_huge_image_is_refused_before_decoding(box, tmp_path):
    # a 10000 x 10000 PNG of one colour is a few KB on disk but 300 MB once decoded to RGB
    Image.new("1", (10000, 10000), 1).save(tmp_path / "huge.png")
    res = run(box, "image_info", image=str(tmp_path / "huge.png"))
    assert not res.ok and "10000x10000" in res.text and "limit" in res.text


def test_output_files_are_numbered_and_never_overwrite_each_other(tmp_path):
    # Two tools (or two processes) writing into one conversation's folder claim names, they do not guess them.
    a, b = ImageEdit(tmp_path), ImageEdit(tmp_path)

    def claim(tool, stem):
        with tool.output(stem) as (_, path):
            return path

    paths = [claim(a, "crop"), claim(b, "crop"), claim(a, "crop"), claim(a, "plot")]
    assert [p.name for p in paths] == ["crop-1.png", "crop-2.png", "crop-3.png", "plot-1.png"]
    assert all(p.exists() for p in paths)
