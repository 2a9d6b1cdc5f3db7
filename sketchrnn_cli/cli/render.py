"""A drawing as terminal art: braille characters, 2 x 4 dots each. Pure Python and NumPy."""

from __future__ import annotations

import numpy as np

from ..data.strokes import stroke3_to_strokes

# Bit of each dot in a braille cell, by (row, column) within the 4 x 2 cell.
_DOT_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))


def braille(sequence: np.ndarray, width: int = 24, height: int = 12) -> list[str]:
    """Stroke-3 -> ``height`` lines of ``width`` braille characters, the drawing fitted inside."""
    dots = np.zeros((height * 4, width * 2), dtype=bool)
    scale = min(dots.shape[1] - 1, dots.shape[0] - 1)  # the unit box, aspect kept
    for stroke in stroke3_to_strokes(sequence):
        points = stroke * scale
        for start, end in zip(points, points[1:] if len(points) > 1 else points):
            steps = int(np.abs(end - start).max()) * 2 + 1
            line = np.linspace(start, end, steps).round().astype(int)
            columns = np.clip(line[:, 0], 0, dots.shape[1] - 1)
            rows = np.clip(line[:, 1], 0, dots.shape[0] - 1)
            dots[rows, columns] = True
    return [_row(dots[4 * r : 4 * r + 4]) for r in range(height)]


def _row(block: np.ndarray) -> str:
    cells = []
    for column in range(0, block.shape[1], 2):
        code = 0x2800
        for r in range(4):
            for c in range(2):
                if block[r, column + c]:
                    code |= _DOT_BITS[r][c]
        cells.append(chr(code))
    return "".join(cells)
