"""The uses of a trained model: your drawings classified, a run scored, its report, the draw page.

predict.py     your drawings -> top-k, by stroke
evaluate.py    metrics on a split or on files; every run under runs/
report.py      `evaluate --report`: one HTML page of inline SVG
draw.py        `sketch draw`: the local server and its API (web/draw.html, the page both engines share)
drawings.py    every form of drawing the API takes
web_export.py  `sketch export --format web`: the draw page as a static site guessing in the browser
web_runtime.py onnxruntime-web for that site: pinned, fetched once from npm, checked, cached
web/           draw.html; strokes.js (strokes.py's simplification, for the page); in_browser.js
"""
