"""Turn untrusted bytes into upright RGB page images, refusing what is not an image or too big."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import cv2
import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from ocrserver.errors import ImageTooLarge, InvalidImage

PDF_MAGIC = b"%PDF-"
# An image whose file gives it at least this many times as many pixels an inch across as down, or down as across, has
# its pixels made square before it is read (``with_square_pixels``); up to MOST_UNEVEN, past which the file errs.
UNEVEN_PIXELS = 1.25
MOST_UNEVEN = 4.0
# EXIF orientations that show an image turned a quarter, its width and height swapped
QUARTER_TURNS = (5, 6, 7, 8)


def is_pdf(data: bytes) -> bool:
    return data[:1024].lstrip().startswith(PDF_MAGIC)


def decode_pages(
    data: bytes, max_pixels: int, *, max_pdf_pages: int = 50, pdf_dpi: int = 200, pages: list[int] | None = None
) -> list[Image.Image]:
    """Decode an image file (any format Pillow reads) or a PDF into RGB pages.

    ``pages`` selects pages (0-based) of a PDF or of a multi-page TIFF (a fax, a scanner's batch); other images
    have one page (the first frame of an animation). At most ``max_pdf_pages`` pages are read.
    """
    if not data:
        raise InvalidImage("The image is empty (0 bytes). Send the file's bytes.")
    if is_pdf(data):
        return _render_pdf(data, max_pixels, max_pages=max_pdf_pages, dpi=pdf_dpi, pages=pages)
    return _decode_frames(data, max_pixels, max_pages=max_pdf_pages, pages=pages)


def _decode_frames(data: bytes, max_pixels: int, *, max_pages: int, pages: list[int] | None) -> list[Image.Image]:
    """The pages of an image file: each page of a multi-page TIFF (those in ``pages`` when given), else its
    first frame."""
    with _decoding_errors(max_pixels):
        image = Image.open(io.BytesIO(data))
    count = getattr(image, "n_frames", 1) if image.format == "TIFF" else 1
    if count == 1:
        return [_decoded_frame(image, max_pixels)]
    decoded = []
    for index in _pages_wanted("TIFF", count, pages, max_pages):
        with _decoding_errors(max_pixels):
            image.seek(index)
        decoded.append(_decoded_frame(image, max_pixels))
    return decoded


def _pages_wanted(kind: str, count: int, pages: list[int] | None, max_pages: int) -> list[int]:
    """The 0-based pages of a ``count``-page document (a PDF, a TIFF) to read: ``pages``, or all of them; a 4xx
    error naming the pages that do not exist, or saying how to stay within ``max_pages``."""
    wanted = list(range(count)) if pages is None else pages
    bad = [p for p in wanted if not 0 <= p < count]
    if bad:
        raise InvalidImage(f"The {kind} has {count} page(s) (0-based indexes 0..{count - 1}); asked for {bad}.")
    if len(wanted) > max_pages:
        raise ImageTooLarge(
            f"The {kind} has {len(wanted)} pages to read; the limit is {max_pages} (OCR_MAX_PDF_PAGES). "
            "Select pages with 'pages'."
        )
    return wanted


def _decoded_frame(image: Image.Image, max_pixels: int) -> Image.Image:
    """The opened image's current frame in RGB, its pixel count checked from the header before it is decoded."""
    width, height = image.size  # read from the header: nothing is decoded yet
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"The image is {width}x{height} = {width * height:,} pixels; the limit is {max_pixels:,} "
            "(OCR_MAX_IMAGE_PIXELS). Downscale it or raise the limit."
        )
    if width < 1 or height < 1:
        raise InvalidImage("The image has no pixels.")
    with _decoding_errors(max_pixels):
        turned_a_quarter = _orientation(image) in QUARTER_TURNS  # read before loading: Pillow turns a TIFF as it loads
        image.load()
        page = to_rgb(image.copy() if getattr(image, "n_frames", 1) > 1 else image)  # the frame alone
    shape_key = _pixel_shape_key(page.info)
    if turned_a_quarter and shape_key:  # the resolutions across and down are the stored image's: swapped
        page.info[shape_key] = tuple(reversed(page.info[shape_key]))
    return page


def _orientation(image: Image.Image) -> int | None:
    """The EXIF (or TIFF) orientation of an opened image, None where it has none or its EXIF is broken."""
    try:
        return image.getexif().get(ExifTags.Base.Orientation)
    except Exception:  # a broken EXIF block must not spoil an otherwise fine image
        return None


@contextmanager
def _decoding_errors(max_pixels: int) -> Iterator[None]:
    """Pillow's errors while opening or decoding untrusted bytes, as the 4xx errors that say what to fix."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(
            f"The image has too many pixels to decode safely ({exc}); the limit is {max_pixels:,} "
            "(OCR_MAX_IMAGE_PIXELS). Downscale it."
        ) from exc
    except UnidentifiedImageError as exc:
        raise InvalidImage(
            "The data is not an image format we can read (PNG, JPEG, TIFF, WebP, BMP, GIF, PDF...)."
        ) from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidImage(f"The image could not be decoded (truncated or corrupt?): {exc}") from exc


def to_rgb(image: Image.Image) -> Image.Image:
    """Apply EXIF orientation and convert any mode (1, L, P, LA, RGBA, CMYK, I;16, F) to RGB on white."""
    try:
        image = ImageOps.exif_transpose(image) or image
    except Exception:  # a broken EXIF block must not spoil an otherwise fine image
        pass
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) * (255.0 / (high - low)) if high > low else np.zeros_like(array)
        image = Image.fromarray(scaled.astype(np.uint8), mode="L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        return background
    return image.convert("RGB")


def with_square_pixels(image: Image.Image, max_pixels: int) -> Image.Image:
    """``image`` stretched along the side it holds fewer pixels an inch of, so that its pixels are square, when the
    resolutions its file gives across and down (or their ratio alone) differ by ``UNEVEN_PIXELS`` or more: a fax sent
    in standard mode is 204 x 98 dpi, and read as it is, its print is squashed to half its height. Where stretched it
    would hold more than ``max_pixels``, the other side is shrunk instead. Otherwise ``image`` itself."""
    shape_key = _pixel_shape_key(image.info)
    if shape_key is None:
        return image
    try:
        across, down = (float(value) for value in image.info[shape_key])
    except (TypeError, ValueError):  # not two numbers
        return image
    if not (across > 0 and down > 0) or not 1 / MOST_UNEVEN <= across / down <= MOST_UNEVEN:
        return image
    if max(across, down) < UNEVEN_PIXELS * min(across, down):
        return image
    width, height = image.size
    stretch = max(across, down) / min(across, down)
    if width * height * stretch > max_pixels:  # the side with more pixels an inch shrunk instead
        size = (round(width / stretch), height) if across > down else (width, round(height / stretch))
        return image.resize((max(1, size[0]), max(1, size[1])), Image.Resampling.LANCZOS)
    size = (width, round(height * stretch)) if across > down else (round(width * stretch), height)
    return image.resize(size, Image.Resampling.BICUBIC)


def _pixel_shape_key(info: dict) -> str | None:
    """Which of Pillow's ``info`` keys gives the pixels an inch across and down an image's file holds, or only their
    ratio: its resolution (``dpi``); else a TIFF's resolution with no unit (``resolution``), a PNG's pixel aspect with
    no unit (``aspect``), a JPEG's JFIF density with no unit (``jfif_density``, when ``jfif_unit`` is 0)."""
    for key in ("dpi", "resolution", "aspect"):
        if key in info:
            return key
    return "jfif_density" if info.get("jfif_unit") == 0 and "jfif_density" in info else None


def bgr_array(image: Image.Image) -> np.ndarray:
    """The image's pixels as OpenCV and the ONNX OCR models take them: height x width x 3, blue first."""
    return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])


def grey_array(image: np.ndarray) -> np.ndarray:
    """An RGB array (height x width x 3) in grey, as OpenCV weighs its channels; a grey one as it is."""
    return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image


def grey_percentiles(histogram: Sequence[float] | np.ndarray, percents: Sequence[float]) -> list[int]:
    """The grey levels at ``percents`` of an image's pixels, counted from the darkest, given its 256-bin grey
    ``histogram`` (PIL's ``histogram()`` or OpenCV's ``calcHist``)."""
    pixels_up_to = np.cumsum(histogram)
    return [int(level) for level in np.searchsorted(pixels_up_to, np.asarray(percents) * pixels_up_to[-1] / 100)]


def shrunk(image: np.ndarray, scale: float) -> np.ndarray:
    """``image`` (an array) scaled down by ``scale``, each new pixel the mean of the area it covers, each side at
    least 1 px; as it is where ``scale`` is 1 or more."""
    if scale >= 1.0:
        return image
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _render_pdf(data: bytes, max_pixels: int, *, max_pages: int, dpi: int, pages: list[int] | None) -> list[Image.Image]:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise InvalidImage(f"The PDF could not be opened: {exc}") from exc
    try:
        rendered: list[Image.Image] = []
        for index in _pages_wanted("PDF", len(document), pages, max_pages):
            page = document[index]
            width_pt, height_pt = page.get_size()
            scale = dpi / 72
            if width_pt * height_pt * scale * scale > max_pixels:
                scale = (max_pixels / (width_pt * height_pt)) ** 0.5
            rendered.append(page.render(scale=scale).to_pil().convert("RGB"))
        return rendered
    finally:
        document.close()

