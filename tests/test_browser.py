"""The draw page and the evaluation report in a real browser (headless Chromium + Selenium)."""

import json
import subprocess

import numpy as np

from conftest import SKETCH, is_blank_png, shape_drawing


def draw_strokes(driver, canvas, strokes, pointer="mouse"):
    """Drags the pointer along each stroke (canvas pixels from its top-left corner)."""
    from selenium.webdriver.common.actions import interaction
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    kind = {"mouse": interaction.POINTER_MOUSE, "pen": interaction.POINTER_PEN, "touch": interaction.POINTER_TOUCH}
    actions = ActionBuilder(driver, mouse=PointerInput(kind[pointer], pointer), duration=10)
    box = canvas.rect
    for xs, ys in strokes:
        actions.pointer_action.move_to(canvas, int(xs[0] - box["width"] / 2), int(ys[0] - box["height"] / 2))
        actions.pointer_action.pointer_down()
        for x, y in zip(xs[1:], ys[1:]):
            actions.pointer_action.move_to(canvas, int(x - box["width"] / 2), int(y - box["height"] / 2))
        actions.pointer_action.pointer_up()
    actions.perform()


def shown_guesses(driver, points):
    """The guesses the page shows once it has them for a drawing of ``points`` points."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.getElementById('guesses').dataset.points") == str(points)
    )
    items = driver.find_elements("css selector", "#guesses li[data-label]")
    return [(item.get_attribute("data-label"), float(item.get_attribute("data-probability"))) for item in items]


def zigzag(scale=1.6):
    strokes = shape_drawing("zigzag", np.random.default_rng(3))
    return [([10 + x * scale for x in xs], [10 + y * scale for y in ys]) for xs, ys in strokes]


def test_drawing_guessing_and_saving_match_sketch_predict(browser, draw_server, trained_run):
    from selenium.webdriver.support.ui import WebDriverWait

    url, save_to, _ = draw_server
    browser.get(url)
    canvas = browser.find_element("id", "canvas")
    strokes = zigzag()
    draw_strokes(browser, canvas, strokes)
    points = browser.execute_script("return points()")
    assert points >= sum(len(xs) for xs, _ in strokes)
    guesses = shown_guesses(browser, points)
    assert len(guesses) == 3 and guesses[0][1] >= guesses[1][1] >= guesses[2][1]
    browser.find_element("id", "save").click()
    WebDriverWait(browser, 30).until(lambda d: "saved" in d.find_element("id", "status").text)

    saved = json.loads(save_to.read_text())
    assert saved["word"] == guesses[0][0] and len(saved["drawing"]) == len(strokes)
    assert all(len(stroke) == 3 for stroke in saved["drawing"])  # raw: x, y, t
    done = subprocess.run(
        [*SKETCH, "predict", "--model", str(trained_run), "--json", str(save_to)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    predicted = [(p["label"], p["probability"]) for p in json.loads(done.stdout)["predictions"]]
    assert [label for label, _ in predicted] == [label for label, _ in guesses]
    assert np.allclose([p for _, p in predicted], [p for _, p in guesses], atol=1e-6)


def test_typed_word_undo_and_clear_by_keyboard(browser, draw_server):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    url, save_to, _ = draw_server
    browser.get(url)
    canvas = browser.find_element("id", "canvas")
    strokes = zigzag()
    draw_strokes(browser, canvas, strokes, pointer="pen")
    body = browser.find_element("tag name", "body")
    body.send_keys("u")  # undo the last stroke
    assert browser.execute_script("return strokes.length") == len(strokes) - 1
    body.send_keys(Keys.ESCAPE)  # clear
    assert browser.execute_script("return strokes.length") == 0
    assert not browser.find_elements("css selector", "#guesses li[data-label]")
    draw_strokes(browser, canvas, strokes)
    word = browser.find_element("id", "word")
    word.send_keys("my zigzag", Keys.ENTER)  # Enter in the word field saves
    WebDriverWait(browser, 30).until(lambda d: "saved" in d.find_element("id", "status").text)
    assert json.loads(save_to.read_text())["word"] == "my zigzag"


def test_the_page_works_at_phone_size_with_touch(browser, draw_server):
    url, _, _ = draw_server
    browser.set_window_size(390, 844)
    try:
        browser.get(url)
        canvas = browser.find_element("id", "canvas")
        assert canvas.rect["width"] <= 390 and canvas.rect["width"] > 250
        strokes = zigzag(scale=1.0)
        draw_strokes(browser, canvas, strokes, pointer="touch")
        assert len(shown_guesses(browser, browser.execute_script("return points()"))) == 3
    finally:
        browser.set_window_size(1000, 900)


def test_the_report_renders(browser, trained_run, shapes_data, tmp_path):
    report = tmp_path / "report.html"
    done = subprocess.run(
        [*SKETCH, "evaluate", str(trained_run), "--data-dir", str(shapes_data), "--report", str(report)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    browser.get(report.as_uri())
    assert len(browser.find_elements("css selector", "svg.per-category rect.bar")) == 3
    assert browser.find_elements("css selector", "svg.confusion path.cells")
    assert len(browser.find_elements("css selector", "svg.chart polyline.curve")) == 4
    assert not is_blank_png(browser.get_screenshot_as_png())
    # Issue 29, #5: a readable reliability diagram (confidence along, accuracy up, a legend), the
    # confusion matrix's numbers and hover text, the scores explained, the model in the header,
    # and the page's width used.
    diagram = browser.find_element("css selector", "svg.reliability")
    assert diagram.size["width"] >= 400
    ticks = [t.text for t in diagram.find_elements("css selector", "text.tick")]
    assert ticks[:2] == ["0", "0"] and "0.6" in ticks and "confidence (the top guess's probability)" in diagram.text
    assert "the darker, the further from the dashed diagonal" in browser.page_source
    cells = browser.find_elements("css selector", "svg.confusion g.cell")
    titles = [c.find_element("css selector", "title").get_attribute("textContent") for c in cells]
    assert any(" right (" in t for t in titles) and all(t.split()[0].isdigit() for t in titles)
    assert (
        "1 for a right first guess, 1/2 second" in browser.page_source
        and "0: they mean what they say" in browser.page_source
    )
    header = browser.find_element("css selector", "h1 + p").text
    assert "conv-lstm, size default" in header and "parameters" in header and "trained" in header
    scores, diagram_section = browser.find_elements("css selector", ".pair > section")[:2]
    assert scores.location["y"] == diagram_section.location["y"]  # side by side: the width is used
