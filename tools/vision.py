"""Image tools with classic computer vision: face detection (OpenCV's Haar cascades), inspection, edits."""
from pathlib import Path

import cv2
import numpy as np
from agentlego.types import Annotated, ImageIO, Info
from PIL import ExifTags, Image, ImageDraw

from puyu.tools.common import PuyuTool, ToolError, load_image, one_of, to_json

MAX_SIDE = 8000
DETECT_SIDE = 800  # faces below ~3% of the longer side are missed; higher resolutions add false positives
EDITS = ("crop", "resize", "rotate", "grayscale", "edges")


class FaceDetect(PuyuTool):
    default_desc = ("Detect frontal human faces in an image (OpenCV Haar cascade). Returns JSON with the number "
                    "of faces and their boxes [left, top, right, bottom], plus the image with the faces boxed.")
    tool_name = "face_detect"

    def setup(self):
        path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
        self.cascade = cv2.CascadeClassifier(str(path))
        if self.cascade.empty():
            raise ToolError(f"OpenCV's face cascade is missing ({path}); this OpenCV build does not ship it.")

    def apply(self, image: Annotated[ImageIO, Info("Path of the image to search for faces.")]
              ) -> tuple[Annotated[str, Info("JSON: count, faces")], Annotated[ImageIO, Info("Image with face boxes")]]:
        img = load_image(image)
        # detect on a copy of bounded size: the cascade's cost grows with the pixels, and so do its false hits
        f = min(1.0, DETECT_SIDE / max(img.size))
        small = img if f == 1 else img.resize((round(img.width * f), round(img.height * f)), Image.LANCZOS)
        gray = cv2.equalizeHist(cv2.cvtColor(np.asarray(small), cv2.COLOR_RGB2GRAY))
        min_side = max(24, min(small.size) // 40)
        found = self.cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side))
        boxes = [[round(v / f) for v in (x, y, x + w, y + h)] for x, y, w, h in found]
        out = img.copy()
        draw = ImageDraw.Draw(out)
        for b in boxes:
            draw.rectangle(b, outline=(40, 200, 40), width=max(2, img.width // 300))
        path = self.save_image(out, "faces")
        return to_json({"count": len(boxes), "faces": boxes}), ImageIO(str(path))


def dominant_colours(img: Image.Image, n: int = 5) -> list[dict]:
    small = img.copy()
    small.thumbnail((200, 200))
    q = small.quantize(colors=n, method=Image.Quantize.MEDIANCUT)
    palette = q.getpalette()
    counts = sorted(q.getcolors(), reverse=True)
    total = sum(c for c, _ in counts)
    return [{"hex": "#{:02x}{:02x}{:02x}".format(*palette[3 * i:3 * i + 3]), "share": round(c / total, 3)}
            for c, i in counts if c / total >= 0.01]  # slivers are mostly resampling blends at edges


def exif_of(path: str) -> dict:
    with Image.open(path) as im:
        exif = im.getexif()
        items = dict(exif)
        items.update(exif.get_ifd(ExifTags.IFD.Exif))
    out = {}
    for tag, value in items.items():
        name = ExifTags.TAGS.get(tag, str(tag))
        if isinstance(value, bytes) or name in ("MakerNote", "UserComment", "ExifOffset", "GPSInfo"):
            continue  # binary blobs mean nothing to the model
        out[name] = value if isinstance(value, (int, str)) else str(value)
    return out


class ImageInfo(PuyuTool):
    default_desc = ("Inspect an image file: width, height, format, colour mode, file size, EXIF tags "
                    "(camera, date, ...) and its dominant colours. Returns JSON.")
    tool_name = "image_info"

    def apply(self, image: Annotated[ImageIO, Info("Path of the image to inspect.")]
              ) -> Annotated[str, Info("JSON description of the image")]:
        img = load_image(image)
        info = {"width": img.width, "height": img.height}
        if isinstance(image, ImageIO) and image.type == "path":
            path = image.to_path()
            with Image.open(path) as raw:
                info.update(format=raw.format, mode=raw.mode)
            info["file_bytes"] = Path(path).stat().st_size
            info["exif"] = exif_of(path)
        info["dominant_colours"] = dominant_colours(img)
        return to_json(info)


def canny(img: Image.Image) -> Image.Image:
    gray = cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2GRAY)
    # Thresholds around the median brightness work across exposures without tuning.
    med = float(np.median(gray))
    low, high = int(max(0, 0.67 * med)), int(min(255, 1.33 * med))
    return Image.fromarray(cv2.Canny(gray, max(low, 10), max(high, 30)))


def edit(img: Image.Image, op: str, x0: int, y0: int, x1: int, y1: int, width: int, height: int,
         angle: float) -> Image.Image:
    if op == "crop":
        if not (0 <= x0 < x1 <= img.width and 0 <= y0 < y1 <= img.height):
            raise ToolError(f"crop box ({x0}, {y0}, {x1}, {y1}) must satisfy 0 <= x0 < x1 <= {img.width} and "
                            f"0 <= y0 < y1 <= {img.height} (the image is {img.width}x{img.height}).")
        return img.crop((x0, y0, x1, y1))
    if op == "resize":
        if width <= 0 and height <= 0:
            raise ToolError("resize needs width and/or height (the other keeps the aspect ratio).")
        w = width if width > 0 else round(img.width * height / img.height)
        h = height if height > 0 else round(img.height * width / img.width)
        if not (1 <= w <= MAX_SIDE and 1 <= h <= MAX_SIDE):
            raise ToolError(f"resize to {w}x{h} is out of range; each side must be 1..{MAX_SIDE}.")
        return img.resize((w, h), Image.LANCZOS)
    if op == "rotate":
        return img.rotate(angle, expand=True, resample=Image.BICUBIC, fillcolor="white")
    if op == "grayscale":
        return img.convert("L")
    return canny(img)


class ImageEdit(PuyuTool):
    default_desc = ("Edit an image and save the result as a new PNG: crop (x0, y0, x1, y1), resize (width and/or "
                    "height), rotate (angle, degrees counter-clockwise), grayscale, or edges (Canny edge map).")
    tool_name = "image_edit"

    def apply(
        self,
        image: Annotated[ImageIO, Info("Path of the image to edit.")],
        operation: Annotated[str, Info("One of crop, resize, rotate, grayscale, edges.")],
        x0: Annotated[int, Info("crop: left edge in pixels.")] = 0,
        y0: Annotated[int, Info("crop: top edge in pixels.")] = 0,
        x1: Annotated[int, Info("crop: right edge in pixels (exclusive).")] = 0,
        y1: Annotated[int, Info("crop: bottom edge in pixels (exclusive).")] = 0,
        width: Annotated[int, Info("resize: new width; 0 keeps the aspect ratio from height.")] = 0,
        height: Annotated[int, Info("resize: new height; 0 keeps the aspect ratio from width.")] = 0,
        angle: Annotated[float, Info("rotate: degrees counter-clockwise.")] = 0.0,
    ) -> tuple[Annotated[str, Info("What was done and the new size")], Annotated[ImageIO, Info("The edited image")]]:
        op = one_of("operation", operation, EDITS)
        img = load_image(image)
        out = edit(img, op, x0, y0, x1, y1, width, height, angle)
        path = self.save_image(out, op)
        return f"{op}: {img.width}x{img.height} -> {out.width}x{out.height}", ImageIO(str(path))
