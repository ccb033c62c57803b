"""OCR as a service: image source in, :class:`OcrResult` out. The REST API, the CLI and the Label Studio
backend all call this; none of them talks to engines directly."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial

import cv2
import numpy as np
from PIL import Image

from ocrserver.coloured_ink import without_colour_over_print
from ocrserver.engines.base import Engine
from ocrserver.errors import EngineFailed, InvalidRequest, OcrServerError
from ocrserver.geometry import parse_region, rectify, scaled, turned_back
from ocrserver.imaging import decode_pages, with_square_pixels
from ocrserver.languages import CJK_LANGUAGES, parse_languages
from ocrserver.layout import count_text_lines, loose_text_columns
from ocrserver.memory import HeapTrimmer
from ocrserver.motion_blur import CLEARER_BY, steadied_around
from ocrserver.pool import EnginePool
from ocrserver.result import (
    Block,
    Level,
    Line,
    OcrResult,
    Page,
    Polygon,
    length_weighted_confidence,
    lines_with_polygons_mapped,
)
from ocrserver.scan_noise import without_noise
from ocrserver.settings import Settings
from ocrserver.show_through import without_show_through
from ocrserver.sources import ImageFetcher, decode_base64, has_url_scheme, is_url, safe_url
from ocrserver.spaced_characters import letter_spacing_closed

log = logging.getLogger(__name__)

# A page: a PIL image, or an RGB array (H x W x 3) when the caller keeps decoded pages around.
PageImage = Image.Image | np.ndarray

PROFILES = ("accurate", "fast")
# The fast profile's engines, first that has all the languages wins; Tesseract's Debian models read CJK far
# worse than PP-OCR (dev-set zh box CER 0.50 vs 0.02), so it is never chosen for them.
FAST_ENGINES = ("ppocr-tiny", "tesseract")


@dataclass
class OcrOptions:
    """What to read and how. ``None`` means the server's default."""

    engine: str | None = None
    profile: str | None = None
    languages: str | list[str] | None = None
    level: Level = "word"
    regions: list[Polygon] | None = None
    pages: list[int] | None = None

    def for_answer_in(self, fmt: str) -> OcrOptions:
        """The options to read with for an answer in ``fmt`` (``json`` or ``text``): plain text shows no words, so
        its pages are read as lines (the ``ppocr`` engines then skip working out word boxes)."""
        return replace(self, level="line") if fmt == "text" else self

    @staticmethod
    def parse_regions(raw: Sequence[object] | None) -> list[Polygon] | None:
        if raw is None:
            return None
        return [parse_region(item, index) for index, item in enumerate(raw)]


@dataclass(frozen=True)
class PageToRead:
    """A decoded page as it is read (:meth:`OcrService.load_pages`): its pixels made square, coloured ink over its
    print and its scan's noise taken out; and the size of the page as sent, in whose pixels regions are given and
    what is read is answered."""

    image: PageImage
    sent_width: int
    sent_height: int

    @classmethod
    def as_sent(cls, image: PageImage) -> PageToRead:
        """A page that is read as it was sent."""
        height, width = _size_of(image)
        return cls(image, width, height)

    @property
    def nbytes(self) -> int:
        """What the page's pixels take in memory."""
        if isinstance(self.image, np.ndarray):
            return self.image.nbytes
        return len(self.image.getbands()) * self.image.width * self.image.height


@dataclass
class PreparedJob:
    engine: str
    languages: list[str]
    timing_ms: dict[str, float] = field(default_factory=dict)


class OcrService:
    def __init__(self, settings: Settings, pool: EnginePool, fetcher: ImageFetcher) -> None:
        self.settings = settings
        self.pool = pool
        self.fetcher = fetcher
        self.heap_trimmer = HeapTrimmer(under_way=lambda: pool.running > 0)

    # ---- sources -----------------------------------------------------------------------------
    def load_source(self, source: str) -> bytes:
        """An http(s) URL, a data URI or a base64 string -> the file's bytes."""
        if not isinstance(source, str) or not source.strip():
            raise InvalidRequest("The image is empty: give an http(s) URL, a data URI or base64 data.")
        if is_url(source.strip()):
            return self.fetcher.fetch(source.strip())
        if has_url_scheme(source.strip()):
            raise InvalidRequest(f"Only http(s) URLs, data URIs or base64 are accepted, got {safe_url(source.strip())!r}.")
        return decode_base64(source, self.settings.max_upload_bytes)

    def decode(self, data: bytes, pages: list[int] | None = None) -> list[Image.Image]:
        return decode_pages(
            data,
            self.settings.max_image_pixels,
            max_pdf_pages=self.settings.max_pdf_pages,
            pdf_dpi=self.settings.pdf_dpi,
            pages=pages,
        )

    def load_pages(self, data: bytes, pages: list[int] | None = None) -> list[PageToRead]:
        """The file's pages decoded and made ready to read, whole or a region at a time: their pixels made square
        where the file says they are not (imaging.with_square_pixels: a fax), coloured ink over their print taken
        out (coloured_ink.py: a stamp, a highlighter), their scan's noise taken out (scan_noise.py: told on a whole
        page, as a region cut close holds too few specks)."""
        loaded = []
        for page in self.decode(data, pages):
            square = with_square_pixels(page, self.settings.max_image_pixels)
            loaded.append(PageToRead(without_noise(without_colour_over_print(square)), page.width, page.height))
        return loaded

    # ---- reading -----------------------------------------------------------------------------
    def prepare(self, options: OcrOptions) -> PreparedJob:
        """Check engine and languages before any work, so mistakes fail fast with a 4xx."""
        languages = parse_languages(options.languages, self.settings.languages)
        name = options.engine or self.engine_for(languages, options.profile)
        info = self.pool.info(name)
        if info.available:
            info.check_languages(languages)
        return PreparedJob(engine=name, languages=languages)

    def engine_for(self, languages: list[str], profile: str | None = None) -> str:
        """The engine a profile picks for these languages (see Settings.profile); when the default engine lacks
        a language, any installed engine that has them all (Tesseract with its language packs)."""
        chosen = profile or self.settings.profile
        if chosen not in PROFILES:
            raise InvalidRequest(f"Unknown profile {chosen!r}; use one of: {', '.join(PROFILES)}.")
        wanted = set(languages)
        first = [name for name in FAST_ENGINES if not (name == "tesseract" and wanted & CJK_LANGUAGES)]
        installed = self.pool.names
        candidates = [*(first if chosen == "fast" else []), self.settings.engine, *installed]
        for name in dict.fromkeys(candidates):
            if name in installed:
                info = self.pool.info(name)
                if info.available and wanted <= set(info.languages):
                    return name
        return self.settings.engine  # which then refuses the languages with a message naming them

    def read_source(self, source: str, options: OcrOptions) -> OcrResult:
        job = self.prepare(options)
        started = time.perf_counter()
        data = self.load_source(source)
        job.timing_ms["fetch"] = (time.perf_counter() - started) * 1000
        return self._read_data(data, options, job)

    def read_bytes(self, data: bytes, options: OcrOptions) -> OcrResult:
        return self._read_data(data, options, self.prepare(options))

    def read_pages(self, pages: list[PageToRead], options: OcrOptions) -> OcrResult:
        """Pages as :meth:`load_pages` gives them: a caller that keeps pages between calls prepares them once."""
        return self._read(pages, options, self.prepare(options))

    def _read_data(self, data: bytes, options: OcrOptions, job: PreparedJob) -> OcrResult:
        started = time.perf_counter()
        pages = self.load_pages(data, options.pages)
        job.timing_ms["decode"] = (time.perf_counter() - started) * 1000
        return self._read(pages, options, job)

    def _read(self, pages_to_read: Sequence[PageToRead], options: OcrOptions, job: PreparedJob) -> OcrResult:
        started = time.perf_counter()
        with self.pool.lease(job.engine) as engine:
            job.timing_ms["queue"] = (time.perf_counter() - started) * 1000
            ocr_started = time.perf_counter()
            pages = [
                self._read_page(engine, page, index, options, job.languages) for index, page in enumerate(pages_to_read)
            ]
            job.timing_ms["ocr"] = (time.perf_counter() - ocr_started) * 1000
        if options.regions is None:
            self.heap_trimmer.page_read()  # whole pages leave multi-MB buffers behind
        job.timing_ms["total"] = sum(job.timing_ms.values())
        info = self.pool.info(job.engine)
        return OcrResult(
            pages=pages,
            engine=job.engine,
            model_version=info.model_version,
            languages=job.languages,
            timing_ms=job.timing_ms,
        )

    def _read_page(
        self, engine: Engine, page: PageToRead, index: int, options: OcrOptions, languages: list[str]
    ) -> Page:
        """The page read, what is read on it in the pixels of the page as sent."""
        image = page.image
        height, width = _size_of(image)
        across, down = width / page.sent_width, height / page.sent_height  # from the page as sent to as read
        try:
            if options.regions is None:
                whole = image if isinstance(image, Image.Image) else Image.fromarray(image)
                # words only when the answer shows them: working them out is up to a twentieth of a ppocr page
                read = engine.read_page if options.level == "word" else engine.read_page_lines
                blocks = read(whole, languages)
                blocks = without_show_through(blocks, whole, partial(engine.read_region, languages=languages))
            else:
                array = image if isinstance(image, np.ndarray) else np.asarray(image)
                blocks = [read_region(engine, array, scaled(region, across, down), languages)
                          for region in options.regions]
        except OcrServerError:
            raise
        except Exception as exc:
            log.exception("engine %s failed on a %dx%d image", engine.name, width, height)
            raise EngineFailed(
                f"Engine '{engine.name}' failed on this image ({type(exc).__name__}: {exc}). "
                "Try another engine; other images are unaffected."
            ) from exc
        if (width, height) != (page.sent_width, page.sent_height):
            back = partial(scaled, across=1 / across, down=1 / down)
            blocks = [Block(lines=lines_with_polygons_mapped(block.lines, back),
                            polygon=back(block.polygon) if block.polygon is not None else None) for block in blocks]
        return Page(width=page.sent_width, height=page.sent_height, blocks=blocks, index=index)


def _size_of(image: PageImage) -> tuple[int, int]:
    """A page's height and width in pixels."""
    return (image.shape[0], image.shape[1]) if isinstance(image, np.ndarray) else (image.height, image.width)


# A region at least this many times as tall as wide, read unsurely, may hold a line set sideways.
SIDEWAYS_REGION = 1.5
# A region's reading at least this sure (its lines' confidence, weighted by their length) is kept as it is.
SURE_REGION = 0.9


def read_region(engine: Engine, page: np.ndarray, region: Polygon, languages: list[str]) -> Block:
    """One region of an RGB page array, rectified and read as one unit; a block in page coordinates. A region read
    less surely than the engine's ``unsure_reading`` on a photo blurred by a moving hand or out of focus is read
    steadied when it then reads surer (motion_blur.py)."""
    block = _read_region_as_drawn(engine, page, region, languages)
    if engine.unsure_reading is None or length_weighted_confidence(block.lines) >= engine.unsure_reading:
        return block
    return _surest_steadied(engine, page, region, languages, block)


def _surest_steadied(engine: Engine, page: np.ndarray, region: Polygon, languages: list[str], as_drawn: Block
                     ) -> Block:
    """``as_drawn`` (the region read as drawn), or the region read through the blur undone that it reads surest
    through, when that is surer by ``CLEARER_BY``."""
    best, best_sureness = as_drawn, length_weighted_confidence(as_drawn.lines) + CLEARER_BY
    for window in steadied_around(page, region):
        block = _read_region_as_drawn(engine, window.image, window.from_page(region), languages)
        sureness = length_weighted_confidence(block.lines)
        if sureness > best_sureness:
            best = Block(lines=lines_with_polygons_mapped(block.lines, window.to_page), polygon=list(region))
            best_sureness = sureness
    return best


def _read_region_as_drawn(engine: Engine, page: np.ndarray, region: Polygon, languages: list[str]) -> Block:
    """The region rectified and read as one unit; a block in page coordinates."""
    crop = rectify(page, region)
    if is_blank(crop.image):
        return Block(lines=[], polygon=list(region))
    columns = loose_text_columns(crop.image)  # a box drawn wider than its text: read around the print
    if columns is not None:
        crop = crop.columns(*columns)
    image = Image.fromarray(crop.image)
    lines = engine.read_region(image, languages)
    if _may_hold_a_sideways_line(crop.image, lines):
        lines = _surest_quarter_turn(engine, image, languages, lines)
    lines = [letter_spacing_closed(line, crop.image) for line in lines]  # a heading set letter-spaced: its words
    return Block(lines=lines_with_polygons_mapped(lines, crop.kept_on_page), polygon=list(region))


def _may_hold_a_sideways_line(crop: np.ndarray, lines: list[Line]) -> bool:
    """A tall region of several glyphs stacked one above another (bands of ink), read unsurely: a box drawn
    upright around a line printed sideways (a spine, a column heading, a margin note), not one tall glyph."""
    height, width = crop.shape[:2]
    return (height >= SIDEWAYS_REGION * width and length_weighted_confidence(lines) < SURE_REGION
            and count_text_lines(crop) >= 3)


def _surest_quarter_turn(engine: Engine, image: Image.Image, languages: list[str], lines: list[Line]) -> list[Line]:
    """The surest of ``lines`` (the region read as drawn) and the region read turned a quarter either way, the
    turned readings' polygons put back on the region as drawn. Lines printed sideways read as drawn came back
    as fragments ("Inul uR" for "Invoice total 1,284.50 EUR"), from Tesseract as one letter a line."""
    best, best_sureness = lines, length_weighted_confidence(lines)
    for degrees in (90, 270):
        turned = engine.read_region(image.rotate(degrees, expand=True), languages)
        sureness = length_weighted_confidence(turned)
        if sureness > best_sureness:
            back = partial(turned_back, degrees=degrees, width=image.width, height=image.height)
            best, best_sureness = lines_with_polygons_mapped(turned, back), sureness
    return best


def is_blank(image: np.ndarray, min_contrast: int = 12) -> bool:
    """A crop without contrast in any colour channel holds no text (and Tesseract's line mode hallucinates on it).
    OpenCV's per-channel extremes take ~50 us whatever the crop's size (numpy's mean over channels: 1.7 ms for a
    700 x 160 px paragraph box)."""
    channels = cv2.split(image) if image.ndim == 3 else [image]
    return all(high - low < min_contrast for low, high, _, _ in map(cv2.minMaxLoc, channels))


