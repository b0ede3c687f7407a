"""QR-code and barcode reading with OpenCV, and QR-code generation with `qrcode`."""
import cv2
import numpy as np
import qrcode
from agentlego.types import Annotated, ImageIO, Info
from qrcode.constants import ERROR_CORRECT_M

from puyu.tools.common import PuyuTool, ToolError, load_image, to_json

SCALES = (1, 0.75, 0.5, 0.35, 0.25, 0.15, 2)  # tried in this order until something is found
MAX_QR_CHARS = 2000  # a version-40 code at level M holds 2,331 bytes; leave room for UTF-8


def _box(points: np.ndarray) -> list[int]:
    pts = np.asarray(points).reshape(-1, 2)
    return [int(pts[:, 0].min()), int(pts[:, 1].min()), int(pts[:, 0].max()), int(pts[:, 1].max())]


def read_codes(bgr: np.ndarray) -> list[dict]:
    found = []
    ok, texts, points, _ = cv2.QRCodeDetector().detectAndDecodeMulti(bgr)
    if ok:
        found += [{"type": "QR", "data": t, "box": _box(p)} for t, p in zip(texts, points) if t]
    ok, texts, kinds, points = cv2.barcode.BarcodeDetector().detectAndDecodeWithType(bgr)
    if ok:
        found += [{"type": k, "data": t, "box": _box(p)} for t, k, p in zip(texts, kinds, points) if t]
    return found


class QRRead(PuyuTool):
    default_desc = ("Find and decode QR codes and 1-D barcodes (EAN-13, EAN-8, UPC-A, UPC-E) in an image. "
                    "Returns JSON {codes: [{type, data, box [left, top, right, bottom]}]}.")
    tool_name = "qr_read"

    def apply(self, image: Annotated[ImageIO, Info("Path of the image that contains the code(s).")]
              ) -> Annotated[str, Info("JSON with the decoded codes")]:
        rgb = np.asarray(load_image(image))
        # a white margin gives codes that touch the image's edge the quiet zone the detectors look for
        pad = max(20, min(rgb.shape[:2]) // 10)
        bgr = cv2.copyMakeBorder(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), pad, pad, pad, pad, cv2.BORDER_CONSTANT,
                                 value=(255, 255, 255))
        codes: list[dict] = []
        # OpenCV's barcode detector finds bars about 1.5-2 px wide: big codes show up after downscaling,
        # tiny ones after upscaling
        for f in SCALES:
            if min(bgr.shape[:2]) * f < 80 or max(bgr.shape[:2]) * f > 4000:
                continue
            small = bgr if f == 1 else cv2.resize(bgr, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
            codes = [dict(c, box=[max(0, int(v / f) - pad) for v in c["box"]]) for c in read_codes(small)]
            if codes:
                break
        result = {"codes": codes}
        if not codes:
            result["note"] = "No QR code or barcode found."
        return to_json(result)


class QRMake(PuyuTool):
    default_desc = ("Make a QR code image (PNG) that encodes the given text or URL. Optional box_size: pixels "
                    "per module (default 10).")
    tool_name = "qr_make"

    def apply(
        self,
        text: Annotated[str, Info("The text or URL to encode.")],
        box_size: Annotated[int, Info("Pixels per QR module (1-40).")] = 10,
    ) -> Annotated[ImageIO, Info("The QR code image")]:
        if not text:
            raise ToolError("text is empty; give the text or URL to encode.")
        if len(text) > MAX_QR_CHARS:
            raise ToolError(f"text is {len(text)} characters; a QR code holds at most {MAX_QR_CHARS} here.")
        if not 1 <= box_size <= 40:
            raise ToolError(f"box_size must be between 1 and 40, got {box_size}.")
        qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
        qr.add_data(text)
        qr.make(fit=True)
        with self.output("qr") as (f, path):
            qr.make_image().save(f)
        return ImageIO(str(path))
