"""The benchmark scripts behind docs/benchmarks.md still run end to end, on a few dev images.

They start the real server, send it the dev set through ../shared/bench/ocr_score.py and print the table the docs
quote. The numbers are the benchmarks' business; these tests check that a run completes, prints its rows, and that
the adapter puts what it sends changed (turned, askew, photographed, between other pages) back on the page the labels describe, so the
docs' commands can be rerun and mean what they say.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.ocrserver_adapter import (
    HIGHLIGHTERS,
    STAMP_INK,
    dithered,
    faxed_in_standard_mode,
    highlighted,
    moved_while_taken,
    out_of_focus,
    printed_on_both_sides,
    speckled,
    stamped,
)

REPO = Path(__file__).resolve().parents[1]


def run_dev_set(out_dir: Path, *args: str) -> str:
    command = [sys.executable, str(REPO / "benchmarks" / "dev_set.py"), "--out-dir", str(out_dir), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def table_row(stdout: str, engine: str) -> list[str]:
    return next(line for line in stdout.splitlines() if line.startswith(f"| {engine} |")).strip("|").split("|")


@pytest.mark.timeout(600)
def test_one_run_prints_the_table_and_the_interactive_comparison(tmp_path: Path, dev_data: Path) -> None:
    stdout = run_dev_set(tmp_path, "--engines", "ppocr-tiny,tesseract", "--limit", "1", "--max-boxes", "6",
                         "--concurrency", "1,2", "--interactive-boxes", "3")
    for engine in ("ppocr-tiny", "tesseract"):
        cells = [cell.strip() for cell in table_row(stdout, engine)]
        assert cells[1] == "6" and "×" in " ".join(cells)  # six boxes; throughput at c=2 as a ratio to c=1
        first, second = (json.loads((tmp_path / f"dev_{engine}_default_c{c}.json").read_text()) for c in (1, 2))
        assert first["box"]["errors"] == first["page"]["errors"] == 0 and first["box"]["cer_ci"] < 0.3
        assert second["page"]["timing"]["throughput_rps"] > 0
    assert stdout.count("speed-up over pytesseract per call") == 2  # the interactive run, once per engine
    assert "the server's own time (Server-Timing, p50)" in stdout


@pytest.mark.timeout(600)
def test_pages_sent_turned_askew_tilted_cut_and_photographed_are_scored_on_the_labelled_page(tmp_path: Path, dev_data: Path) -> None:
    stdout = run_dev_set(tmp_path, "--engines", "ppocr-tiny", "--task", "box,page", "--turn", "90", "--skew", "3",
                         "--tilt", "0.1", "--cut", "0.05", "--frame", "2500", "--limit", "1", "--max-boxes", "4", "--concurrency", "1",
                         "--interactive-boxes", "0")
    assert ("turned 90 degrees 3 degrees askew photographed tilted 0.1, cut 0.05 at top and bottom by the frame in a 2500 "
            "px photo") in stdout
    summary = json.loads((tmp_path / "dev_ppocr-tiny_default_c1_turn90_skew3_tilt0.1_cut0.05_frame2500.json").read_text())
    # lines found on the photo of the turned, askew, tilted, cut page match the labelled lines only when mapped back onto
    # the page (the form as scanned: 0.70)
    assert summary["page"]["det_f1"] >= 0.5
    assert summary["box"]["n"] == 4 and summary["box"]["cer_ci"] < 0.3  # boxes cut upright from the askew page


@pytest.mark.timeout(600)
def test_boxes_drawn_with_paper_around_and_past_their_end_are_scored_on_their_text(tmp_path: Path, dev_data: Path) -> None:
    stdout = run_dev_set(tmp_path, "--engines", "ppocr-tiny", "--task", "box", "--loose", "0.5", "--wide", "2",
                         "--limit", "1", "--max-boxes", "4", "--concurrency", "1", "--interactive-boxes", "0")
    assert "drawn with 0.5x their height of paper around drawn 2x their width past their end" in stdout
    summary = json.loads((tmp_path / "dev_ppocr-tiny_default_c1_loose0.5_wide2.json").read_text())
    assert summary["box"]["n"] == 4 and summary["box"]["cer_ci"] < 0.3


@pytest.mark.timeout(600)
def test_boxes_drawn_on_whole_pages_sent_out_of_focus_are_scored_on_their_text(tmp_path: Path, dev_data: Path) -> None:
    stdout = run_dev_set(tmp_path, "--engines", "ppocr-tiny", "--task", "box", "--on-page", "--defocus", "2",
                         "--limit", "1", "--max-boxes", "4", "--concurrency", "1", "--interactive-boxes", "0")
    assert "out of focus, discs of 2 px; boxes drawn on their whole pages" in stdout
    summary = json.loads((tmp_path / "dev_ppocr-tiny_default_c1_defocus2_onpage.json").read_text())
    assert summary["settings"]["box_mode"] == "full" and "out of focus" in summary["adapter"]  # the page sent so
    assert summary["box"]["n"] == 4 and summary["box"]["cer_ci"] < 0.3


@pytest.mark.parametrize(("options", "told"), [
    # the scorer cuts each box from the page as scanned: --blur with the box task would measure the scan
    (["--task", "box", "--blur", "5"], "add --on-page"),
    # the box task sends no page: a table titled "faxed" or "scaled 0.35" would hold boxes cut from the scan
    (["--task", "box", "--fax"], "so --fax would change nothing: add --task page"),
    (["--task", "box", "--scale", "0.35", "--dim"], "so --scale, --dim would change nothing: add --task page"),
    (["--task", "page", "--loose", "0.5"], "so --loose would change nothing: add --task box"),
    # a box drawn where its line lies on the scan would miss it on a faxed (stretched) or askew page
    (["--task", "box,page", "--on-page", "--fax"], "with --fax the box is cut out or its line lies elsewhere"),
    (["--task", "box", "--on-page", "--skew", "3"], "with --skew the box is cut out or its line lies elsewhere"),
])
def test_options_that_would_change_nothing_or_miss_the_boxes_are_refused(options: list[str], told: str) -> None:
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "dev_set.py"), *options],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 2 and told in done.stderr


@pytest.mark.timeout(600)
def test_a_page_sent_between_its_neighbours_is_scored_on_its_own_lines(tmp_path: Path, dev_data: Path) -> None:
    stdout = run_dev_set(tmp_path, "--engines", "ppocr-tiny", "--task", "page", "--stack", "3", "--limit", "1",
                         "--concurrency", "1", "--interactive-boxes", "0")
    assert "in images 3 pages long" in stdout
    page = json.loads((tmp_path / "dev_ppocr-tiny_default_c1_stack3.json").read_text())["page"]
    # its lines are moved back onto it and its neighbours' left out (kept, they would cut precision to a third; the
    # form sent alone: det F1 0.62, precision 0.54)
    assert page["det_f1"] >= 0.5 and page["det_precision"] >= 0.45


@pytest.mark.timeout(600)
def test_a_pages_text_can_be_scored_as_returned_in_its_reading_order(tmp_path: Path, dev_data: Path) -> None:
    stdout = run_dev_set(tmp_path, "--engines", "ppocr-tiny", "--task", "page", "--as-text", "--limit", "1",
                         "--concurrency", "1", "--interactive-boxes", "0")
    assert "page CER of the text as returned" in stdout
    page = json.loads((tmp_path / "dev_ppocr-tiny_default_c1_text.json").read_text())["page"]
    # the scorer took the text, not lines: nothing to match boxes with, the words and their order still scored
    assert page["text_only_pages"] == 1 and page["bow_f1_ci"] >= 0.6 and page["page_cer_ci"] < 0.3


@pytest.mark.timeout(600)
def test_a_labelled_set_of_ones_own_is_scored_through_every_script(tmp_path: Path, dev_data: Path) -> None:
    # a set laid out as ocr-dev is, under names the dev set does not have: a receipt and three of its lines
    mine = tmp_path / "mine"
    (mine / "images").mkdir(parents=True)
    (mine / "labels").mkdir()
    label = json.loads((dev_data / "labels" / "sroie_025.json").read_text())
    label.update(id="mine_001", image="mine_001.jpg", regions=label["regions"][:3])
    (mine / "images" / "mine_001.jpg").write_bytes((dev_data / "images" / "sroie_025.jpg").read_bytes())
    (mine / "labels" / "mine_001.json").write_text(json.dumps(label))

    stdout = run_dev_set(tmp_path / "out", "--data", str(mine), "--engines", "tesseract", "--concurrency", "1",
                         "--interactive-boxes", "2")
    assert "dev set mine:" in stdout
    summary = json.loads((tmp_path / "out" / "dev_tesseract_default_c1.json").read_text())
    assert summary["box"]["n"] == 3 and summary["box"]["errors"] == 0 and summary["box"]["cer_ci"] < 0.2
    assert summary["page"]["det_recall"] == 1.0  # its three labelled lines found on the page
    assert "interactive box OCR, 2 dev-set regions" in stdout and "speed-up over pytesseract per call" in stdout

    load = subprocess.run([sys.executable, str(REPO / "benchmarks" / "load.py"), "--data", str(mine), "--clients", "2",
                           "--seconds", "120", "--max-requests", "6"], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert load.returncode == 0, load.stdout[-3000:] + load.stderr[-3000:]
    assert "statuses {'200': 6}; errors (not 200/503): 0" in load.stdout  # every request read from the set given


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("changed", "said", "saved_as"), [
    (("--scale", "0.6"), "scaled 0.6", "_scale0.6"),
    (("--dim",), "in dim light", "_dim"),
    (("--shadow", "0.6"), "under a shadow 0.6 dark", "_shadow0.6"),
    (("--blur", "3"), "blurred 3 px as by a moving hand", "_blur3"),
    (("--defocus", "2"), "out of focus, discs of 2 px", "_defocus2"),
    (("--show-through", "0.25"), "the next page showing through 0.25 dark", "_through0.25"),
    (("--speckle", "0.02"), "speckled, 0.02 of the pixels", "_speckle0.02"),
    (("--dither", "1"), "dithered to black and white, the print 1 as dark", "_dither1"),
    (("--fax",), "faxed in standard mode (204 x 98 dpi)", "_fax"),
    (("--stamp",), "with a stamp across the print", "_stamp"),
    (("--highlight", "pink"), "every other line highlighted pink", "_highlightpink"),
])
def test_pages_sent_small_in_dim_light_under_a_shadow_or_blurred_are_scored_on_the_labelled_page(
        tmp_path: Path, dev_data: Path, changed: tuple, said: str, saved_as: str) -> None:
    stdout = run_dev_set(tmp_path, "--engines", "ppocr-tiny", "--task", "page", *changed, "--limit", "1",
                         "--concurrency", "1", "--interactive-boxes", "0")
    assert said in stdout
    summary = json.loads((tmp_path / f"dev_ppocr-tiny_default_c1{saved_as}.json").read_text())
    assert said in summary["adapter"]  # the adapter sent the pages so
    page = summary["page"]
    # lines found on the smaller image or the photo match the labelled lines only when put back onto the page (the
    # form: det F1 0.62 scaled 0.6, 0.66 in dim light; as scanned 0.70); under a shadow or blurred it is sent the same size
    assert page["det_f1"] >= 0.5


def test_a_hands_shake_draws_each_point_out_into_a_slanting_streak_as_long_as_asked() -> None:
    page = np.full((41, 41, 3), 255, dtype=np.uint8)
    page[20, 20] = 0  # one dark point
    blurred = np.asarray(moved_while_taken(Image.fromarray(page), 9).convert("L"))
    rows, columns = np.nonzero(blurred < 250)
    assert columns.max() - columns.min() + 1 == 9  # 9 px long across
    assert 3 <= rows.max() - rows.min() + 1 <= 4  # 20 degrees from the horizontal: 9 x sin 20 = 3.1 px high
    assert rows[columns.argmax()] < rows[columns.argmin()]  # rising to the right
    assert blurred.min() > 200  # the point's ink spread along it, none of it left whole


def test_a_lens_out_of_focus_draws_each_point_out_into_a_disc_as_wide_as_asked() -> None:
    page = np.full((41, 41, 3), 255, dtype=np.uint8)
    page[20, 20] = 0  # one dark point
    blurred = np.asarray(out_of_focus(Image.fromarray(page), 4).convert("L"))
    rows, columns = np.nonzero(blurred < 255)
    assert columns.max() - columns.min() + 1 == 9 and rows.max() - rows.min() + 1 == 9  # 2 x 4 + 1 px across
    assert blurred[20, 20] == blurred[20, 24] == blurred[16, 20]  # as dark at its rim as at its middle
    assert blurred[16, 16] == 255  # round: its square's corner left white
    assert blurred.min() > 240  # the point's ink spread over it


def test_a_back_shows_through_mirrored_and_as_faint_as_asked() -> None:
    front = Image.new("RGB", (200, 100), (200, 200, 200))
    back = np.full((100, 200, 3), 255, dtype=np.uint8)
    back[40:60, 10:50] = 0  # a dark patch near the back's left edge
    seen = np.asarray(printed_on_both_sides(front, Image.fromarray(back), 0.25).convert("L"))
    assert seen[50, 170] == 150  # behind the front's right side: mirrored, the paper a quarter darker (200 x 0.75)
    assert seen[50, 30] == seen[5, 5] == 200  # where the back is blank the front is as it was


def test_specks_are_strewn_over_as_many_pixels_as_asked_half_black_half_white() -> None:
    page = Image.new("RGB", (200, 200), (128, 128, 128))
    seen = np.asarray(speckled(page, 0.1).convert("L"))
    assert abs((seen == 0).mean() - 0.05) < 0.01 and abs((seen == 255).mean() - 0.05) < 0.01
    assert (seen == 128).mean() > 0.88  # the rest as it was


def test_a_black_and_white_scan_dots_grey_print_as_dark_as_asked() -> None:
    page = np.full((100, 100, 3), 255, dtype=np.uint8)
    page[:, :50] = 0  # black print on its left half
    sent = np.asarray(dithered(Image.fromarray(page), 0.5).convert("L"))
    assert set(np.unique(sent)) == {0, 255}  # black and white only
    assert abs((sent[:, :50] == 0).mean() - 0.5) < 0.05  # the print faded to half its darkness: half its dots black
    assert (sent[:, 50:] == 255).all()  # the paper white


def test_a_fax_in_standard_mode_is_a_letter_page_wide_with_half_as_many_rows_an_inch_in_black_and_white() -> None:
    page = np.full((110, 850, 3), 255, dtype=np.uint8)  # a letter page's strip at 100 dpi
    page[40:60, :425] = 0  # black print on its left half
    faxed = faxed_in_standard_mode(Image.fromarray(page))
    assert faxed.mode == "1" and faxed.size == (1728, round(110 * 1728 / 850 * 98 / 204))  # 1728 x 107
    sent = np.asarray(faxed.convert("L"))
    assert set(np.unique(sent)) == {0, 255} and (sent[:, 900:] == 255).all()
    assert abs((sent[:, :800] == 0).sum(axis=0).mean() - 20 * 1728 / 850 * 98 / 204) <= 1  # the print's rows squashed


def test_every_other_line_is_highlighted_its_print_as_dark_as_the_ink_lets_it_be() -> None:
    page = np.full((100, 200, 3), 255, dtype=np.uint8)
    page[10:30, 20:100] = 0  # three lines of black print, top to bottom
    page[40:60, 20:100] = 0
    page[70:90, 20:100] = 0
    regions = [{"bbox": [20, 70, 100, 90]}, {"bbox": [20, 10, 100, 30]}, {"bbox": [20, 40, 100, 60]}]
    marked = np.asarray(highlighted(Image.fromarray(page), regions, HIGHLIGHTERS["yellow"]))
    assert tuple(marked[20, 102]) == HIGHLIGHTERS["yellow"]  # the paper just past the first line's end yellow
    assert tuple(marked[50, 102]) == (255, 255, 255)  # the second left white
    assert tuple(marked[80, 102]) == HIGHLIGHTERS["yellow"]  # the third yellow
    assert (marked[20, 50] == 0).all()  # black print stays black under the ink


def test_a_stamp_lays_red_ink_across_the_page_middle_and_leaves_the_print_dark_where_they_cross() -> None:
    page = np.full((600, 800, 3), 255, dtype=np.uint8)
    page[250:350, :] = 0  # a black band across the middle
    sent = np.asarray(stamped(Image.fromarray(page))).astype(int)
    red = (sent[:, :, 0] - sent[:, :, 1] > 100) & (np.abs(sent - np.asarray(STAMP_INK)).sum(axis=2) < 120)
    rows = np.nonzero(red.any(axis=1))[0]
    assert red.sum() > 5000 and rows.min() > 60 and rows.max() < 540  # a stamp within the page, across its middle
    assert (sent[250:350].max(axis=2) == 0).all()  # the band as black as before
