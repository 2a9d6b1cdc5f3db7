"""sketch: classify Quick, Draw! sketches from their strokes."""

__version__ = "0.1.0"
