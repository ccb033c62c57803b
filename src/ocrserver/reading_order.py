"""Reading order: lines in visual rows, and blocks by recursive XY-cut (columns of running text down, fields and
table cells row by row, rows beside a line standing on end read across)."""

from __future__ import annotations

import itertools
import math

import numpy as np

from ocrserver.result import Block, Box, Line, bbox_of


def line_height(line: Line) -> float:
    """The height of a line's box, at least a pixel."""
    x0, y0, x1, y1 = bbox_of(line.polygon)
    return max(1.0, y1 - y0)


def sort_reading_order(lines: list[Line]) -> list[Line]:
    """Top-to-bottom visual rows, left-to-right within a row."""
    remaining = sorted(((bbox_of(line.polygon), line) for line in lines), key=lambda boxed: boxed[0][1])
    ordered: list[Line] = []
    while remaining:
        _, top, _, bottom = remaining[0][0]
        centre, reach = (top + bottom) / 2, max(1.0, bottom - top) * 0.5
        row = [boxed for boxed in remaining if abs((boxed[0][1] + boxed[0][3]) / 2 - centre) < reach]
        ordered.extend(line for _, line in sorted(row, key=lambda boxed: boxed[0][0]))
        remaining = [boxed for boxed in remaining if abs((boxed[0][1] + boxed[0][3]) / 2 - centre) >= reach]
    return ordered


# the shortest line, in line heights, that counts as a line of running text (about 20 characters)
RUNNING_TEXT_LINE = 8


def is_running_text(box: Box) -> bool:
    """Whether a line (its box) is ``RUNNING_TEXT_LINE`` line heights long or more, as a line of prose is."""
    return box[2] - box[0] >= RUNNING_TEXT_LINE * max(1.0, box[3] - box[1])


def in_reading_order(blocks: list[Block]) -> list[Block]:
    """Blocks in reading order, by recursive XY-cut: the blocks are parted where a band across the whole group
    holds none of them, and each part is ordered the same way. Columns of running text (left before right)
    come first; otherwise rows (top before bottom), so fields side by side (an item and its price, a label and
    its value) keep their rows; blocks on one row that no band across parts, side by side, left to right.
    Rows that are slices of the same columns are joined again (``_rows_joined_where_columns_run_on``), so a
    page in two columns under a title reads down the left column, then the right. Where a line standing on end
    (a number printed up the margin) spans rows that no band across would otherwise part, the rows are read across
    without it (``_rows_beside_lines_on_end``). Blocks that no band parts read by their tops, then from the left."""
    if len(blocks) < 2:
        return blocks
    columns = _columns(blocks)
    if columns:
        return [block for column in columns for block in in_reading_order(column)]
    rows = _rows_joined_where_columns_run_on(_parted_by_empty_bands(blocks, 1))
    if len(rows) > 1:
        return [block for row in rows for block in in_reading_order(row)]
    rows_beside = _rows_beside_lines_on_end(blocks)
    if rows_beside is not None:
        return rows_beside
    beside = _parted_by_empty_bands(blocks, 0)
    if len(beside) > 1:
        return [block for part in beside for block in in_reading_order(part)]
    return sorted(blocks, key=lambda b: (round(bbox_of(b.polygon or [])[1] / 10), bbox_of(b.polygon or [])[0]))


# A line at least this many times as tall as the group's median line, and taller than wide, stands on end.
ON_END = 2.0


def _rows_beside_lines_on_end(blocks: list[Block]) -> list[Block] | None:
    """The blocks read row by row as if the lines standing on end among them (a document number printed up the
    margin, a stamp) were not there, each of those after the last row it reaches into; None when there are none,
    or the rest make no rows. Such a line keeps any band across from parting the rows beside it, which were then
    read column by column: a form's labels, then its values."""
    heights = [line_height(line) for block in blocks for line in block.lines]
    usual = float(np.median(heights))

    def on_end(block: Block) -> bool:
        x0, y0, x1, y1 = bbox_of(block.polygon or [])
        return len(block.lines) == 1 and y1 - y0 > max(ON_END * usual, x1 - x0)

    standing_on_end = [on_end(block) for block in blocks]
    standing = [block for block, flag in zip(blocks, standing_on_end, strict=True) if flag]
    rest = [block for block, flag in zip(blocks, standing_on_end, strict=True) if not flag]
    if not standing or len(rest) < 2:
        return None
    rows = _rows_joined_where_columns_run_on(_parted_by_empty_bands(rest, 1))
    if len(rows) < 2:
        return None
    tops = [min(bbox_of(block.polygon or [])[1] for block in row) for row in rows]
    # each standing line's last row reached: the last whose top lies above its bottom (-1: above them all)
    reached = [max((index for index, top in enumerate(tops) if top < bbox_of(block.polygon or [])[3]), default=-1)
               for block in standing]
    ordered = [block for block, last in zip(standing, reached, strict=True) if last == -1]
    for index, row in enumerate(rows):
        ordered += in_reading_order(row)
        ordered += [block for block, last in zip(standing, reached, strict=True) if last == index]
    return ordered


def _columns(blocks: list[Block], fewest_lines: int = 2) -> list[list[Block]] | None:
    """The blocks parted into columns of running text, left to right, or None: empty bands must part them
    so, and each column must read as running text (``_running_text``, at least ``fewest_lines`` lines).
    Columns of fields or table cells (a label and its value, an item and its price) are not, and keep their
    rows."""
    columns = _parted_by_empty_bands(blocks, 0)
    if len(columns) > 1 and all(_running_text(column, fewest_lines) for column in columns) and not _cells_in_rows(columns):
        return columns
    return None


def _cells_in_rows(columns: list[list[Block]]) -> bool:
    """Whether the columns' blocks start on shared rows, as the cells of a table do (half a line apart at most),
    though they hold running text; the paragraphs of columns of prose start where their text takes them. A
    column's first block is not counted: side by side columns all start at the top."""
    tops = [sorted((bbox_of(block.polygon or [])[1], line_height(block.lines[0])) for block in column) for column in columns]
    shared = counted = 0
    for index, column in enumerate(tops):
        others = [top for other, starts in enumerate(tops) if other != index for top, _ in starts]
        for top, height in column[1:]:
            counted += 1
            shared += any(abs(top - other) <= height / 2 for other in others)
    return counted > 0 and shared * 2 >= counted


def _running_text(blocks: list[Block], fewest_lines: int) -> bool:
    """Whether at least two thirds of these blocks' lines (``fewest_lines`` at least) fill most of their
    column's width and are ``RUNNING_TEXT_LINE`` line heights long or more, as the lines of prose do."""
    boxes = [bbox_of(line.polygon) for block in blocks for line in block.lines]
    if not boxes or len(boxes) < fewest_lines:
        return False
    width = max(box[2] for box in boxes) - min(box[0] for box in boxes)
    full = sum(1 for box in boxes if box[2] - box[0] >= 0.7 * width and is_running_text(box))
    return full * 3 >= len(boxes) * 2


def _rows_joined_where_columns_run_on(rows: list[list[Block]]) -> list[list[Block]]:
    """Consecutive rows joined where each two could be slices of the same columns of running text (a line
    of prose on each side is enough here): an empty band can run across two columns of paragraphs, and
    a title above them keeps the columns from parting the page whole. Whether the joined rows are read as
    columns is then decided on all their lines, as ``_columns`` decides (at least two on each side)."""
    joined = [rows[0]]
    for above, row in itertools.pairwise(rows):
        if _columns(above + row, fewest_lines=1):
            joined[-1] = joined[-1] + row
        else:
            joined.append(row)
    return joined


# Rows of lines set close overlap a little as detected (a detector's boxes reach past the ink): the share of their
# lines' height by which two rows may overlap and still be parted.
ROW_OVERLAP = 0.25


def _parted_by_empty_bands(blocks: list[Block], start: int) -> list[list[Block]]:
    """The blocks in groups along one axis (``start`` 1: y, 0: x), parted wherever no block spans the gap; along
    y, each block's top and bottom line less ``ROW_OVERLAP`` of their height."""
    boxes = [bbox_of(block.polygon or []) for block in blocks]
    if start == 1:
        boxes = [(x0, y0 + ROW_OVERLAP * line_height(block.lines[0]), x1, y1 - ROW_OVERLAP * line_height(block.lines[-1]))
                 for (x0, y0, x1, y1), block in zip(boxes, blocks, strict=True)]
    order = sorted(range(len(blocks)), key=lambda i: boxes[i][start])
    parts: list[list[Block]] = []
    reach = -math.inf
    for i in order:
        if boxes[i][start] >= reach:
            parts.append([])
        parts[-1].append(blocks[i])
        reach = max(reach, boxes[i][start + 2])
    return parts
