"""The `sketch` command. Each command parses options, calls one workflow, renders the result.

Workflow modules are imported inside command bodies: `sketch --help` never imports TensorFlow.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path

import click

from . import __version__, ui
from .sources import FORMATS, OFFICIAL_SOURCE

DEFAULT_DATA_DIR = "data"

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DATA_DIR,
    envvar="SKETCH_DATA_DIR",
    show_default=True,
    show_envvar=True,
    help="Folder of downloads and datasets; one dataset per folder and format.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sketch")
def main() -> None:
    """Classify Quick, Draw! sketches from their strokes.

    \b
    sketch download --categories "cat,airplane"   fetch drawings and build the dataset
    sketch train                                  train a Conv1D + LSTM classifier
    sketch evaluate runs/<run>                    score it on the test split
    sketch predict drawing.ndjson                 classify your own drawings
    """
    # Set before anything imports TensorFlow; TF_CPP_MIN_LOG_LEVEL=0 brings the C++ logs back.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@main.command()
@data_dir_option
@click.option("--categories", "category_list", metavar="NAMES", help='Comma-separated, e.g. "cat,airplane,paint can".')
@click.option("--categories-file", type=click.File("r"), help="A file of category names, one per line.")
@click.option("--all", "all_categories", is_flag=True, help="All 345 categories.")
@click.option("--format", "format_", type=click.Choice(FORMATS), default="simplified", show_default=True,
              help="simplified or raw ndjson, or Sketch-RNN npz.")
@click.option("--source", default=OFFICIAL_SOURCE, envvar="SKETCH_SOURCE", show_default=True, show_envvar=True,
              help="Base URL (http/https) or local folder laid out like the official bucket.")
@click.option("--max-per-class", type=click.IntRange(min=1), help="Keep at most N drawings per category.")
@click.option("--recognized-only", is_flag=True, help="Keep only drawings the game recognised.")
@click.option("--max-length", type=click.IntRange(min=2), default=250, show_default=True,
              help="Points kept per drawing.")
def download(data_dir, category_list, categories_file, all_categories, format_, source, max_per_class,
             recognized_only, max_length):
    """Download drawings and convert them into a stroke-delta dataset."""
    from . import categories as catalog
    from .collect import CollectOptions
    from .download import DownloadRequest, download as run_download
    from .sources import SourceError

    with ui.user_errors(SourceError):
        names = _chosen_categories(catalog, category_list, categories_file, all_categories)
        request = DownloadRequest(
            categories=tuple(names),
            data_dir=data_dir,
            format=format_,
            source=source,
            options=CollectOptions(max_per_class, recognized_only, max_length),
        )
        with ui.download_progress() as progress:
            task = progress.add_task("", total=None)

            def on_category(name, index, count):
                progress.update(task, description=f"[{index + 1}/{count}] {name}", completed=0, total=None)

            def on_bytes(done, total):
                progress.update(task, completed=done, total=total)

            summary = run_download(request, on_category, on_bytes)
    _show_download(summary)


def _chosen_categories(catalog, category_list, categories_file, all_categories) -> list[str]:
    given = sum(x is not None and x is not False for x in (category_list, categories_file, all_categories or None))
    if given != 1:
        raise click.UsageError("choose the categories with exactly one of --categories, --categories-file, --all")
    if all_categories:
        return list(catalog.all_categories())
    text = category_list if category_list is not None else categories_file.read()
    return catalog.resolve(catalog.parse_list(text))


def _show_download(summary) -> None:
    collected = summary.collected
    counts = collected.counts()
    rows = [[name, *split_counts.values(), sum(split_counts.values())] for name, split_counts in counts.items()]
    totals = [sum(row[i] for row in rows) for i in range(1, 5)]
    ui.out.print(ui.table(None, ["category", "train", "valid", "test", "total"], rows + [["all", *totals]]))
    ui.note(f"dataset written to {summary.dataset_dir}")
    for record in collected.skipped[:20]:
        ui.warn(f"skipped {record}")
    if collected.skipped_count:
        more = collected.skipped_count - min(20, len(collected.skipped))
        tail = f" ({more} not shown)" if more else ""
        ui.warn(f"{collected.skipped_count} malformed drawing(s) skipped{tail}")
    if collected.unrecognized_count:
        ui.note(f"{collected.unrecognized_count} unrecognised drawing(s) left out (--recognized-only)")
    for name, split_counts in counts.items():
        if sum(split_counts.values()) == 0:
            ui.warn(f"category {name!r} has no drawings")


@main.command()
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def info(data_dir, as_json):
    """Versions, the devices TensorFlow sees, and the datasets in the data folder."""
    from .devices import describe
    from .download import built_datasets

    report = {
        "sketchrnn_cli": __version__,
        "python": platform.python_version(),
        **{name: _version(name) for name in ("tensorflow", "keras", "tensorflow-datasets", "ai-edge-litert")},
        "devices": describe(),
        "data_dir": str(data_dir),
        "datasets": {fmt: _dataset_summary(path) for fmt, path in built_datasets(data_dir).items()},
    }
    if as_json:
        click.echo(json.dumps(report))
        return
    devices = report["devices"]
    gpus = f"{len(devices['gpus'])} GPU(s): {', '.join(devices['gpus'])}" if devices["gpus"] else "CPU only"
    rows = [[key, report[key]] for key in ("sketchrnn_cli", "python", "tensorflow", "keras",
                                           "tensorflow-datasets", "ai-edge-litert")]
    rows += [["devices", gpus], ["data folder", data_dir]]
    for fmt, summary in report["datasets"].items():
        rows.append([f"dataset ({fmt})", summary])
    if not report["datasets"]:
        rows.append(["datasets", "none yet (run sketch download)"])
    ui.out.print(ui.table(None, ["", ""], rows, justify_numbers=False))


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _dataset_summary(path: Path) -> str:
    info = json.loads((path / "dataset_info.json").read_text())
    splits = {s["name"]: sum(int(n) for n in s.get("shardLengths", [])) for s in info.get("splits", [])}
    classes = json.loads((path / "metadata.json").read_text()).get("categories", [])
    counts = ", ".join(f"{name} {count}" for name, count in splits.items())
    return f"{len(classes)} categories; {counts}; {path}"


if __name__ == "__main__":
    sys.exit(main())
