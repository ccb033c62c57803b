"""Layout helpers for engines that return flat text lines: lines grouped into blocks (put in reading order by
reading_order.py), printed rules, pieces of neighbouring lines in a box, word boxes, bands of ink in a crop."""

from __future__ import annotations

import itertools
import math
import unicodedata
from collections import Counter
from collections.abc import Callable
from functools import partial

import cv2
import numpy as np

from ocrserver.geometry import affine_mapped
from ocrserver.ink import ink
from ocrserver.label_value import COLONS, label_and_value
from ocrserver.reading_order import (
    in_reading_order,
    is_running_text,
    line_height,
    sort_reading_order,
)
from ocrserver.result import Block, Box, Line, Polygon, Word, bbox_of, rect_polygon, slant_of
from ocrserver.spaced_characters import combs_joined, letter_spacing_closed

# A page whose lines of text slant by more than this many degrees (the median of its wide lines, up to
# MOST_SLANT) is grouped into blocks and ordered as if turned level.
LEVEL_WITHIN = 0.5
MOST_SLANT = 20.0


def group_into_blocks(lines: list[Line], page: np.ndarray | None = None) -> list[Block]:
    """Lines grouped into blocks in reading order (``_grouped``), a number written in a comb of boxes made one line,
    a letter-spaced word one word (``spaced_characters``) and a Chinese or Japanese form's label and the value set
    apart from it two lines (``label_value``) first; on a page scanned askew, as if turned level,
    so that a row's fields, which lie higher or lower across the page, still share their row, and printed rules
    are looked for along the lines (``ruled_between``'s ``to_page``). A page written in a right-to-left script
    (``reads_right_to_left``) is grouped and ordered as its mirror image, so that its rows and columns read from
    the right."""
    lines = combs_joined(lines)
    if page is not None:
        lines = [part for line in lines for part in label_and_value(letter_spacing_closed(line, page), page)]
    if not reads_right_to_left(lines):
        return _level_grouped(lines, page)
    width = page.shape[1] if page is not None else max(x for line in lines for x, _ in line.polygon)
    mirrored_page = None if page is None else np.ascontiguousarray(page[:, ::-1])
    return _grouped_moved(lines, partial(_mirrored, width=width), partial(_level_grouped, page=mirrored_page))


def _mirrored(polygon: Polygon, width: float) -> Polygon:
    """A polygon on a page ``width`` wide, on the page's mirror image (a quad's top-left corner still first)."""
    mirrored = [(width - x, y) for x, y in polygon]
    return [mirrored[1], mirrored[0], mirrored[3], mirrored[2]] if len(mirrored) == 4 else mirrored


def reads_right_to_left(lines: list[Line]) -> bool:
    """Whether more of the lines' letters belong to a right-to-left script (Arabic, Hebrew, ...) than to a
    left-to-right one (digits and punctuation count for neither)."""
    directions = Counter(unicodedata.bidirectional(character) for line in lines for character in line.text)
    return directions["R"] + directions["AL"] > directions["L"]


def _level_grouped(lines: list[Line], page: np.ndarray | None) -> list[Block]:
    """``_grouped`` on the page as given, or as if turned level when its lines slant (``LEVEL_WITHIN``)."""
    slant = _slant(lines)
    if abs(slant) <= LEVEL_WITHIN:
        return _grouped(lines, None if page is None else partial(ruled_between, page))
    to_level = cv2.getRotationMatrix2D((0.0, 0.0), slant, 1.0)  # the page turned about its corner, level
    to_page = cv2.invertAffineTransform(to_level)
    ruled = None if page is None else partial(ruled_between, page, to_page=to_page)
    return _grouped_moved(lines, partial(affine_mapped, affine=to_level), partial(_grouped, ruled=ruled))


def _grouped_moved(lines: list[Line], move: Callable[[Polygon], Polygon],
                   group: Callable[[list[Line]], list[Block]]) -> list[Block]:
    """The blocks ``group`` makes of the lines moved by ``move`` (turned level, mirrored), made of the lines as
    they lie on the page."""
    on_page: dict[int, Line] = {}  # the line on the page, by the id of its moved stand-in
    stand_ins = []
    for line in lines:
        stand_in = Line(text=line.text, confidence=line.confidence, polygon=move(line.polygon))
        on_page[id(stand_in)] = line
        stand_ins.append(stand_in)
    return [Block(lines=[on_page[id(stand_in)] for stand_in in block.lines]) for block in group(stand_ins)]


def _slant(lines: list[Line]) -> float:
    """The median slant, in degrees (clockwise positive), of the lines at least three times as long as high (their
    top edge from the first corner to the second), leaving out lines that slant by more than ``MOST_SLANT`` (text
    written down or up the page); 0 for fewer than three such lines."""
    slants = []
    for line in lines:
        if len(line.polygon) != 4:
            continue
        first, second, _, last = line.polygon
        slant = slant_of(line.polygon)
        if math.dist(first, second) >= 3 * math.dist(first, last) and abs(slant) <= MOST_SLANT:
            slants.append(slant)
    return float(np.median(slants)) if len(slants) >= 3 else 0.0


def _grouped(lines: list[Line], ruled: Callable[[Box, Box], bool] | None = None) -> list[Block]:
    """Group lines into blocks: a line joins the block above it when it starts close below it and overlaps it
    horizontally, and no printed rule runs between them (``ruled``, when the image the lines were read from is
    there to look at: ``ruled_between``): the cells of a ruled table, one under the other, are fields of their
    rows, not a paragraph. Nor does a field join a block below or above (``_beside``: a line in a row of three or
    more, a label beside its value, an amount beside its item): a form's labels and values, a receipt's items and
    prices, a table's cells are blocks of their own, read row by row, each row across, while two columns of prose
    or two addresses side by side still make blocks; nor does a line join a block across a row of fields between
    them (``_row_of_fields_between``). A line beside a block's last line, within the block's width (give or take
    half a line height), is the rest of it, cut at a wide gap. No line joins a block across another line."""
    boxed = sorted(((bbox_of(line.polygon), line) for line in lines), key=lambda pair: pair[0][1])
    boxes, lines = [box for box, _ in boxed], [line for _, line in boxed]
    on_row, field = _beside(boxes, [line.text for line in lines])
    field_middles = np.sort([(box[1] + box[3]) / 2 for box, is_field in zip(boxes, field, strict=True) if is_field])
    blocks: list[list[Line]] = []
    widths: list[tuple[float, float]] = []  # each block's left and right edge
    open_blocks: dict[int, int] = {}  # the blocks a line may still join: each one's last line, an index into boxes

    def joins(index: int, last: int, block: int) -> bool:
        if on_row[index, last]:  # the rest of the block's last line, cut at a wide gap: within the block's width
            margin = (boxes[index][3] - boxes[index][1]) / 2
            return widths[block][0] - margin <= boxes[index][0] and boxes[index][2] <= widths[block][1] + margin
        return (not (field[index] or field[last]) and _goes_on_below(boxes[index], boxes[last], ruled)
                and not _row_of_fields_between(boxes[last], boxes[index], field_middles))

    for index, box in enumerate(boxes):
        joined = next((block for block, last in open_blocks.items() if joins(index, last, block)), None)
        if joined is None:
            joined = len(blocks)
            blocks.append([])
            widths.append((box[0], box[2]))
        blocks[joined].append(lines[index])
        widths[joined] = (min(widths[joined][0], box[0]), max(widths[joined][1], box[2]))
        # no later line joins a block across this one
        open_blocks = {block: last for block, last in open_blocks.items() if not _overlapping(box, boxes[last])}
        open_blocks[joined] = index
    return in_reading_order([Block(lines=sort_reading_order(block)) for block in blocks])


def _beside(boxes: list[Box], texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """For each two lines (their boxes x0, y0, x1, y1 and texts), whether they lie side by side on one row (their
    middles less than half the lower one's height apart, sharing no width); and for each line, whether it is a
    field: beside another, not both ``RUNNING_TEXT_LINE`` line heights long as the lines of two columns of prose
    are, and one of a row of three or more (a table's row, a form's fields), or a label (ending in a colon) beside
    its value, or beside an amount (mostly digits). Two lines of words side by side, as two addresses set beside
    each other are (under "Bill to:" and "Ship to:"), are no fields: each keeps to its block."""
    if not boxes:
        return np.zeros((0, 0), dtype=bool), np.zeros(0, dtype=bool)
    on_row = side_by_side(boxes)
    short = ~np.array([is_running_text(box) for box in boxes], dtype=bool)
    label = np.array([text.rstrip().endswith(COLONS) for text in texts], dtype=bool)
    amount = np.array([_mostly_digits(text) for text in texts], dtype=bool)
    telling = (on_row.sum(axis=1) >= 2)[:, None] | (label[:, None] != label[None, :]) | amount[:, None] | amount[None, :]
    return on_row, (on_row & (short[:, None] | short[None, :]) & telling).any(axis=1)


def side_by_side(boxes: list[Box]) -> np.ndarray:
    """For each two boxes (x0, y0, x1, y1, at least one), whether they lie side by side on one row: their middles
    less than half the lower one's height apart, sharing no width."""
    x0, y0, x1, y1 = np.asarray(boxes, dtype=np.float64).T
    middle, height = (y0 + y1) / 2, np.maximum(1.0, y1 - y0)
    same_row = np.abs(middle[:, None] - middle[None, :]) < 0.5 * np.minimum(height[:, None], height[None, :])
    return same_row & ((x0[:, None] >= x1[None, :]) | (x1[:, None] <= x0[None, :]))


def _row_of_fields_between(above: Box, below: Box, field_middles: np.ndarray) -> bool:
    """Whether a field (anywhere across the page; ``field_middles``: the fields' middles, sorted) has its middle
    between two lines, one above the other, and they are not both lines of running text: a receipt that prints each
    item's name on a line of its own and its quantity and prices on the next reads name, row, name, row, not its
    names as one block."""
    top, bottom = above[3], below[1]
    if bottom <= top or (is_running_text(above) and is_running_text(below)):
        return False
    return bool(np.searchsorted(field_middles, bottom) > np.searchsorted(field_middles, top, side="right"))


def _mostly_digits(text: str) -> bool:
    """Whether at least half of the text's characters, spaces aside, are digits (an amount, a date, a number)."""
    characters = [character for character in text if not character.isspace()]
    return bool(characters) and 2 * sum(character.isdigit() for character in characters) >= len(characters)


def _goes_on_below(box: Box, last: Box, ruled: Callable[[Box, Box], bool] | None) -> bool:
    """Whether a line (``box``) goes on below a block's last line: it starts close below it, shares some of its
    width, and no printed rule runs between them (``ruled(last, box)``, when given)."""
    height = max(1.0, box[3] - box[1])
    return (-0.5 * height <= box[1] - last[3] <= 0.8 * height and _overlapping(box, last)
            and (ruled is None or not ruled(last, box)))


def _overlapping(box: Box, other: Box) -> bool:
    """Whether two boxes (x0, y0, x1, y1) share more than a tenth of the narrower one's width."""
    return min(box[2], other[2]) - max(box[0], other[0]) > 0.1 * min(box[2] - box[0], other[2] - other[0])


# A row of ink across at least this share of two lines' common width, between them, is a printed rule.
RULE_SPAN = 0.9
# Ink and paper differ by at least this many grey levels where a rule is looked for (none on blank paper).
RULE_CONTRAST = 48


def ruled_between(page: np.ndarray, above: Box, below: Box, to_page: np.ndarray | None = None) -> bool:
    """Whether a printed rule runs between two lines (boxes x0, y0, x1, y1) on ``page`` (grey or colour, dark
    print on light paper or light on dark): a row of ink across ``RULE_SPAN`` of their common width, between the
    middle of the upper line and the middle of the lower (a detector's box may reach over the rule). Text never
    inks a row that far across: its letters and words have gaps. Lines that share less width than the lower one
    is high are not judged (no rule). With ``to_page`` (a 2 x 3 affine map), the boxes are in another frame, the
    page turned level, and the band between them is cut from the page along that frame's axes."""
    x0, x1 = max(above[0], below[0]), min(above[2], below[2])
    if x1 - x0 < below[3] - below[1]:  # too narrow to tell a rule from a letter's stroke
        return False
    band = _band(page, (x0, (above[1] + above[3]) / 2, x1, (below[1] + below[3]) / 2), to_page)
    if band.size == 0:
        return False
    if int(band.max()) - int(band.min()) < RULE_CONTRAST:
        return False
    return bool((ink(band) > 0).mean(axis=1).max() >= RULE_SPAN)


def _band(page: np.ndarray, box: Box, to_page: np.ndarray | None) -> np.ndarray:
    """The part of ``page`` inside ``box`` (x0, y0, x1, y1): on the page's own axes, or in the frame that the 2 x 3
    affine map ``to_page`` takes onto the page, cut along that frame's axes."""
    x0, y0, x1, y1 = box
    if to_page is None:
        return page[max(0, math.floor(y0)):max(0, math.ceil(y1)), max(0, math.floor(x0)):max(0, math.ceil(x1))]
    size = (math.ceil(x1 - x0), math.ceil(y1 - y0))
    if min(size) <= 0:
        return page[:0, :0]
    from_corner = to_page.copy()
    from_corner[:, 2] += to_page[:, :2] @ (x0, y0)  # the band's pixel (0, 0) is the frame's (x0, y0)
    return cv2.warpAffine(page, from_corner, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


# A line at a box's top or bottom edge that is less tall than this share of the tallest line in the box, or less
# wide than CUT_LINE_WIDTH of the widest, is a piece of a neighbouring line that the box cut.
CUT_LINE_HEIGHT = 0.6
CUT_LINE_WIDTH = 0.7


def without_cut_pieces(lines: list[Line], height: float, sure: float) -> list[Line]:
    """The lines read in a box, less those at its top or bottom edge that are less tall than ``CUT_LINE_HEIGHT``
    of the tallest, less wide than ``CUT_LINE_WIDTH`` of the widest, or read less than ``sure`` (each engine's
    confidences have their own scale): the pieces of the lines above and below that a box drawn around a line
    takes in, the more so on a page scanned askew, where its corners cut into them. A region's own lines lie
    inside the margin the server crops around it; its tallest line, when it is its widest too, is what it was drawn
    around, however unsurely it was read (a shop sign's calligraphic characters above their small transliteration,
    read 0.75 sure, were lost)."""
    if len(lines) < 2:
        return lines
    tallest = max(line_height(line) for line in lines)
    widest = max(_line_width(line) for line in lines)

    def is_piece(line: Line) -> bool:
        return line.confidence < sure or line_height(line) < CUT_LINE_HEIGHT * tallest or (
            _line_width(line) < CUT_LINE_WIDTH * widest)

    def is_own(line: Line) -> bool:
        return line_height(line) >= tallest and _line_width(line) >= widest

    kept = [line for line in lines if is_own(line) or not (_at_edge(line, height) and is_piece(line))]
    return kept or lines


def _line_width(line: Line) -> float:
    x0, _, x1, _ = bbox_of(line.polygon)
    return x1 - x0


def _at_edge(line: Line, height: float) -> bool:
    """Whether a line reaches the top or bottom edge (the outer 5 %) of a box ``height`` pixels high."""
    _, y0, _, y1 = bbox_of(line.polygon)
    return y0 <= 0.05 * height or y1 >= 0.95 * height


def split_at_wide_gaps(line: Line, gap: float) -> list[Line]:
    """A line cut where two neighbouring words lie more than ``gap`` times the line's height apart (two fields
    printed on one row, "TEL : ...   FAX : ..."), each piece with its own box. A line without word boxes, or
    whose words do not run left to right (from the right, in a right-to-left script), stays whole."""
    words = line.words
    boxes = [bbox_of(word.polygon) for word in words]
    leftwards = reads_right_to_left([line])
    if len(words) < 2 or any((after[0] > before[0]) if leftwards else (after[0] < before[0])
                             for before, after in itertools.pairwise(boxes)):
        return [line]
    widest = gap * line_height(line)
    pieces: list[list[int]] = [[0]]
    for index in range(1, len(words)):
        before, after = boxes[index - 1], boxes[index]
        if (before[0] - after[2] if leftwards else after[0] - before[2]) > widest:
            pieces.append([index])
        else:
            pieces[-1].append(index)
    if len(pieces) == 1:
        return [line]
    return [
        Line(
            text=" ".join(words[i].text for i in piece),
            confidence=sum(words[i].confidence for i in piece) / len(piece),
            polygon=rect_polygon(*bbox_of([point for i in piece for point in words[i].polygon])),
            words=[words[i] for i in piece],
        )
        for piece in pieces
    ]


def split_into_words(text: str, confidence: float, polygon: Polygon) -> list[Word]:
    """Words of a line whose engine gave no word boxes: split on spaces, each word gets the share of
    the line's polygon proportional to its characters (CJK without spaces stays one word)."""
    words = text.split()
    if not words:
        return []
    quad = np.array(polygon[:4] if len(polygon) >= 4 else polygon, dtype=np.float64)
    if len(quad) != 4:
        return [Word(text=w, confidence=confidence, polygon=polygon) for w in words]
    top_left, top_right, bottom_right, bottom_left = quad
    total = max(1, len(text))
    result: list[Word] = []
    position = 0
    for word in words:
        start = text.index(word, position)
        end = start + len(word)
        position = end
        a, b = start / total, end / total
        poly = [
            tuple(top_left + (top_right - top_left) * a),
            tuple(top_left + (top_right - top_left) * b),
            tuple(bottom_left + (bottom_right - bottom_left) * b),
            tuple(bottom_left + (bottom_right - bottom_left) * a),
        ]
        result.append(Word(text=word, confidence=confidence, polygon=[(float(x), float(y)) for x, y in poly]))
    return result


def count_text_lines(image: np.ndarray) -> int:
    """About how many rows of text a crop holds (about 1 ms), erring towards "several".

    Bands of rows with ink (``_text_bands``) each count as one line, or as several when a band is much taller
    than one character (the median height of the ink's connected components): lines set so tight that no blank
    row separates them merge into one band. Engines use this to read a one-line region with recognition alone
    and anything else with detection first; taking one line for two only costs time, taking two for one loses
    text, hence the bias.
    """
    ink, bands = _text_bands(image)
    if not bands:
        return 0
    char_height = _median_character_height(ink)
    if char_height is None:
        return len(bands)
    return sum(max(1, round((end - start) / (1.25 * char_height))) for start, end in bands)


# A crop whose text spans less than this share of its height was drawn loosely around it.
LOOSE_CROP = 0.35
# Paper kept above and below the text of a loose crop, as a share of the text's height.
LOOSE_CROP_MARGIN = 0.35
# Ink narrower than this many times its height is one glyph (a colon, a digit), not a line of text.
LINE_SHAPE = 1.0


def loose_text_rows(image: np.ndarray) -> tuple[int, int] | None:
    """The rows to read a crop drawn loosely around its text at (top, bottom), or None when its text fills it.

    The text's rows run from the top of its first band to the bottom of its last (specks and rules apart, see
    ``_text_bands``); a crop counts as loose when they span less than ``LOOSE_CROP`` of its height, and it is
    then read from ``LOOSE_CROP_MARGIN`` of their height above them to as much below: about the paper a box
    drawn tight to the text keeps, with the margin the server crops around a region. Ink shaped like one glyph
    (``LINE_SHAPE``) is left as drawn.
    """
    ink, bands = _text_bands(image)
    if not bands:
        return None
    top, bottom = bands[0][0], bands[-1][1]
    height = image.shape[0]
    if bottom - top >= LOOSE_CROP * height:
        return None
    # a lone glyph (a colon, a digit) is read as drawn: cut to its rows, it was read as another
    columns = np.flatnonzero((ink[top:bottom] > 0).any(axis=0))
    if columns[-1] - columns[0] + 1 < LINE_SHAPE * (bottom - top):
        return None
    margin = LOOSE_CROP_MARGIN * (bottom - top)
    return max(0, math.floor(top - margin)), min(height, math.ceil(bottom + margin))


# A crop with at least this many character heights of blank paper beside its print (beyond the margins below) was
# drawn wider than its text.
LOOSE_COLUMNS_SPARE = 1.0
# Paper kept left and right of the print of a crop drawn wider than its text, in character heights.
LOOSE_COLUMNS_MARGIN = 1.5
# A column of a crop holds print where at least two of its pixels differ from the paper (the crop's median, darkest
# channel) by more than this: faint print too, which Otsu's threshold leaves out beside a darker label.
PAPER_CONTRAST = 40
# A mark at least this many character heights long and at most this share of one thick is a rule, not print.
RULE_LENGTH = 3.0
RULE_THICKNESS = 0.35


def loose_text_columns(image: np.ndarray) -> tuple[int, int] | None:
    """The columns to read a crop drawn wider than its text at (left, right), or None when it is not.

    An annotator drags a box past the end of a line, across a form's empty field or a receipt's blank column. The
    recognisers read the blank paper beside the print worse than none. 300 dev-set regions drawn on their own pages
    with the blank paper beside them taken in (up to their width either side), in-process, exact lines: ``ppocr``
    255 drawn tight -> 235, ``ppocr-tiny`` 230 -> 206, ``tesseract`` 194 -> 169; read between their print's first
    and last columns with ``LOOSE_COLUMNS_MARGIN`` character heights of paper either side: 247, 223, 175. All 2714
    dev boxes given twice their width of paper to their right, through the server: box CER 0.069 -> 0.052, 0.116 ->
    0.065, 0.130 both. Only paper is cut: a column with any other mark on it (a speck, a border, faint print) is kept,
    so a crop whose paper is marked is read as drawn; a lone glyph is read as drawn too (``loose_text_rows``). A rule
    (``_without_rules``: a form's field line under the value) is looked past: 80 dev lines with twice their width of
    paper and a rule under them across the box, in-process, CER ppocr 0.050 -> 0.038, ppocr-tiny 0.085 -> 0.067
    (without the rule 0.029 and 0.046). Boxes as cut read as before but for a few FUNSD paragraphs (all 2714: ppocr
    5 differ, 3 better and 2 worse; ppocr-tiny 3, one each way; tesseract none).
    """
    darkest: np.ndarray = cv2.min(cv2.min(image[:, :, 0], image[:, :, 1]), image[:, :, 2]) if image.ndim == 3 else image
    paper = int(np.median(darkest))
    marked = (np.abs(darkest.astype(np.int16) - paper) > PAPER_CONTRAST).astype(np.uint8)
    measured_height = _median_character_height(ink(image))
    if measured_height is not None:
        _without_rules(marked, measured_height)
    printed, printed_rows = np.flatnonzero(marked.sum(axis=0) >= 2), np.flatnonzero(marked.sum(axis=1) >= 2)
    if printed.size == 0 or printed_rows.size == 0:
        return None
    left, right = int(printed[0]), int(printed[-1]) + 1
    print_height = int(printed_rows[-1]) + 1 - int(printed_rows[0])
    if right - left < LINE_SHAPE * print_height:
        return None  # a lone glyph is read as drawn, as by loose_text_rows
    # white print on a dark band has no character-like ink: its rows' height then
    char_height = measured_height or float(print_height)
    width, margin = image.shape[1], LOOSE_COLUMNS_MARGIN * char_height
    if width - (right - left + 2 * margin) < LOOSE_COLUMNS_SPARE * char_height:
        return None
    return max(0, math.floor(left - margin)), min(width, math.ceil(right + margin))


def _without_rules(marked: np.ndarray, character_height: float) -> None:
    """Clear, in place, the rules among ``marked`` pixels: pieces at least ``RULE_LENGTH`` character heights long and
    at most ``RULE_THICKNESS`` of one thick (a form's field line under its value, a table's border)."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(marked, connectivity=8)
    rules = np.flatnonzero((stats[:, cv2.CC_STAT_WIDTH] >= RULE_LENGTH * character_height)
                           & (stats[:, cv2.CC_STAT_HEIGHT] <= RULE_THICKNESS * character_height))
    rules = rules[rules > 0]
    if rules.size:
        marked[np.isin(labels, rules)] = 0


def _text_bands(image: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The crop's ink (Otsu, either polarity) and its bands of inked rows (start, end), top to bottom.

    A row is inked when it holds at least 0.15 of a typical inked row's ink, so one full-width rule cannot
    drown the text rows; bands under 0.35 of the tallest (underlines, specks) are left out.
    """
    marks = ink(image)
    profile = (marks > 0).sum(axis=1)
    inked = profile[profile > 0]
    if inked.size == 0:
        return marks, []
    rows = profile >= max(1.0, float(np.median(inked)) * 0.15)
    bands: list[tuple[int, int]] = []
    start = None
    for index, has_ink in enumerate(rows):
        if has_ink and start is None:
            start = index
        elif not has_ink and start is not None:
            bands.append((start, index))
            start = None
    if start is not None:
        bands.append((start, len(rows)))
    if not bands:
        return marks, []
    tallest = max(end - begin for begin, end in bands)
    return marks, [(begin, end) for begin, end in bands if end - begin >= 0.35 * tallest]


def _median_character_height(ink: np.ndarray) -> float | None:
    """The height of character-like connected components (not specks, rules or frames), as a median weighted by
    their ink: the dots and marks of Arabic script (or a dot-matrix print's broken strokes) outnumber the letters
    they sit on, and an unweighted median took a dot for a character, so one Arabic line counted as three to seven.
    Dev boxes drawn on their pages as an annotator draws them (benchmarks/interactive.py's 2714): 261 change, nearly
    all single receipt lines once taken for several, now read by recognition alone: ppocr reads them in half the time
    (p50 25 -> 13 ms), CER over all boxes 0.0520 -> 0.0522 (tesseract 0.147 -> 0.130); the 131 dev regions that
    change when cut with the server's margin alone read better (CER ppocr 0.046 -> 0.036, tesseract 0.294 -> 0.288)."""
    return _ink_weighted_median(*_character_pieces(ink))


def page_character_height(ink: np.ndarray, at_least: int) -> float | None:
    """The height of a page's characters (as ``_median_character_height``), or None unless at least ``at_least`` of
    its pieces are about that high (0.75 to 1.35 of it): a page of print, not a photo's few large shapes."""
    heights, areas = _character_pieces(ink)
    height = _ink_weighted_median(heights, areas)
    if height is None:
        return None
    alike = np.count_nonzero((heights >= 0.75 * height) & (heights <= 1.35 * height))
    return height if alike >= at_least else None


def _ink_weighted_median(heights: np.ndarray, areas: np.ndarray) -> float | None:
    """The median of the pieces' ``heights``, each counted by its ink (``areas``); None for fewer than two pieces."""
    if heights.size < 2:
        return None
    order = np.argsort(heights, kind="stable")
    heights, ink_below = heights[order], np.cumsum(areas[order])
    return float(heights[np.searchsorted(ink_below, ink_below[-1] / 2)])


def _character_pieces(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The heights and areas of the ink's connected components that could be characters: not specks, rules or
    frames."""
    _, _, stats, _ = cv2.connectedComponentsWithStats((ink > 0).astype(np.uint8), connectivity=8)
    heights, widths, areas = stats[1:, cv2.CC_STAT_HEIGHT], stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_AREA]
    keep = (areas >= 4) & (heights >= 3) & (widths < ink.shape[1] * 0.5) & (heights < ink.shape[0] * 0.9)
    return heights[keep], areas[keep]
