"""The uses of a trained model: your drawings classified, a run scored, its report, the draw page.

predict.py     your drawings -> top-k, by stroke
evaluate.py    metrics on a split or on files; every run under runs/
report.py      `evaluate --report`: one HTML page of inline SVG
draw.py        `sketch draw`: the local server and its API (web/draw.html)
"""
