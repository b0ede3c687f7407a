"""OCR with Tesseract (English and simplified Chinese), returning text, line boxes and an annotated image."""

import re
from dataclasses import asdict, dataclass

import pytesseract
from agentlego.types import Annotated, ImageIO, Info
from PIL import Image, ImageDraw

from puyu.tools.common import PuyuTool, ToolError, load_image, one_of, to_json

LANGS = {"auto": "eng+chi_sim", "eng": "eng", "chi_sim": "chi_sim", "eng+chi_sim": "eng+chi_sim"}
TIMEOUT_S = 120
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


@dataclass
class OcrLine:
    text: str
    box: list[int]  # [left, top, right, bottom] in pixels of the input image
    conf: float


def join_words(words: list[str]) -> str:
    """Tesseract splits Chinese into one "word" per character or two; spaces belong only between
    words of alphabetic scripts."""
    out = ""
    for w in words:
        if out and not (_CJK.match(out[-1]) or _CJK.match(w[0])):
            out += " "
        out += w
    return out


def recognise(img: Image.Image, lang: str) -> list[OcrLine]:
    # Tesseract reads text best at >= ~20 px x-height; small images are upscaled, boxes scaled back.
    scale = 2 if max(img.size) < 500 else 1
    src = img.resize((img.width * scale, img.height * scale), Image.LANCZOS) if scale > 1 else img
    try:
        data = pytesseract.image_to_data(src, lang=lang, output_type=pytesseract.Output.DICT, timeout=TIMEOUT_S)
    except RuntimeError as e:  # pytesseract's timeout
        raise ToolError(f"OCR took longer than {TIMEOUT_S} s; crop the image to the text first.") from e
    lines: dict[tuple, list[int]] = {}
    for i, word in enumerate(data["text"]):
        # low-confidence words are kept: for Chinese, dropping them loses more right characters than noise
        if word.strip() and float(data["conf"][i]) >= 0:
            lines.setdefault((data["block_num"][i], data["par_num"][i], data["line_num"][i]), []).append(i)
    out = []
    for idx in lines.values():
        left = min(data["left"][i] for i in idx)
        top = min(data["top"][i] for i in idx)
        right = max(data["left"][i] + data["width"][i] for i in idx)
        bottom = max(data["top"][i] + data["height"][i] for i in idx)
        conf = sum(float(data["conf"][i]) for i in idx) / len(idx)
        text = join_words([data["text"][i].strip() for i in idx])
        out.append(OcrLine(text, [v // scale for v in (left, top, right, bottom)], round(conf, 1)))
    # Tesseract sometimes reads a glyph a second time as a block of its own, inside a line it already read.
    return [a for a in out if not any(b is not a and _inside(a.box, b.box) for b in out)]


def _inside(a: list[int], b: list[int]) -> bool:
    """a lies within b and is the smaller (so two equal boxes do not remove each other)."""
    area = (a[2] - a[0]) * (a[3] - a[1]) < (b[2] - b[0]) * (b[3] - b[1])
    return area and b[0] <= a[0] and b[1] <= a[1] and a[2] <= b[2] and a[3] <= b[3]


def detected_languages(text: str) -> list[str]:
    langs = []
    if re.search(r"[A-Za-z]", text):
        langs.append("eng")
    if _CJK.search(text):
        langs.append("chi_sim")
    return langs


def annotate(img: Image.Image, lines: list[OcrLine]) -> Image.Image:
    out = img.copy()
    draw = ImageDraw.Draw(out)
    for line in lines:
        draw.rectangle(line.box, outline=(230, 40, 40), width=max(2, img.width // 400))
    return out


class OCR(PuyuTool):
    default_desc = ("Read printed text in an image (English and simplified Chinese). Returns JSON with the "
                    "full text, the detected languages and each line's text, box [left, top, right, bottom] and "
                    "confidence, plus a copy of the image with the lines boxed. Optional lang: auto (default), eng, "
                    "chi_sim or eng+chi_sim.")
    tool_name = "ocr"

    def apply(
        self,
        image: Annotated[ImageIO, Info("Path of the image file to read.")],
        lang: Annotated[str, Info("Language: auto (English and Chinese together), eng, chi_sim or "
                                  "eng+chi_sim.")] = "auto",
    ) -> tuple[Annotated[str, Info("JSON: text, languages, lines")], Annotated[ImageIO, Info("Image with line boxes")]]:
        tess_lang = LANGS[one_of("lang", lang, tuple(LANGS))]
        img = load_image(image)
        lines = recognise(img, tess_lang)
        text = "\n".join(line.text for line in lines)
        result = {"text": text, "languages": detected_languages(text), "lines": [asdict(x) for x in lines]}
        if not lines:
            result["note"] = "No text found."
        path = self.save_image(annotate(img, lines), "ocr")
        return to_json(result), ImageIO(str(path))
