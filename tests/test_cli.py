"""The `sketch` command as users run it: --help stays light, errors are one line."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sketchrnn_cli.cli import main

from conftest import (
    sketch,
)

COMMANDS = sorted(main.commands)


def test_every_command_has_help():
    runner = CliRunner()
    for command in [[], *[[c] for c in COMMANDS]]:
        result = runner.invoke(main, [*command, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.output


def test_every_option_says_what_it_does_and_train_groups_its_options():
    """Issue 29, #4: `sketch train --help` was 30 options without groups, several without a word,
    and --max-minutes showed no default."""
    import click

    for name, command in main.commands.items():
        for option in command.params:
            if isinstance(option, click.Option):
                assert option.help, f"sketch {name} {option.opts[0]}"
    shown = CliRunner().invoke(main, ["train", "--help"]).output
    sections = ["Data options:", "Model options:", "Schedule options:", "Device options:", "Run folder options:"]
    assert all(section in shown for section in sections)
    assert [shown.index(section) for section in sections] == sorted(shown.index(section) for section in sections)
    assert "none: up to --epochs, or early stopping]" in " ".join(shown.split())  # --max-minutes


def test_help_never_imports_tensorflow():
    probe = (
        "import sys; from click.testing import CliRunner; from sketchrnn_cli.cli import main\n"
        "for args in [['--help']] + [[c, '--help'] for c in main.commands]:\n"
        "    assert CliRunner().invoke(main, args).exit_code == 0, args\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'tensorflow_datasets') if m in sys.modules]\n"
        "print(heavy)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_download_shows_a_summary_table(bucket, tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "download",
            "--data-dir",
            str(tmp_path / "d"),
            "--source",
            str(bucket),
            "--categories",
            "circle,zigzag,square",
            "--max-per-class",
            "30",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "circle" in result.output and "│ all" in result.output and "90 │" in result.output


def test_categories_file_and_environment_variables(bucket, tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("circle\nsquare\n")
    env = {"SKETCH_DATA_DIR": str(tmp_path / "d"), "SKETCH_SOURCE": str(bucket)}
    result = CliRunner(env=env).invoke(main, ["download", "--categories-file", str(names)])
    assert result.exit_code == 0, result.output
    current = (tmp_path / "d/datasets/simplified/CURRENT").read_text().strip()
    assert (tmp_path / "d/datasets/simplified" / current / "metadata.json").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--categories", "circel"], "unknown category 'circel' (did you mean 'circle'"),
        (["--categories", "dragon"], "dragon.ndjson: no such file"),
        ([], "exactly one of --categories"),
        (["--categories", "cat", "--all"], "exactly one of --categories"),
    ],
)
def test_download_errors_are_one_line_without_traceback(bucket, tmp_path, args, message):
    result = CliRunner().invoke(main, ["download", "--data-dir", str(tmp_path), "--source", str(bucket), *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_network_failure_keeps_finished_categories(bucket, tmp_path, http_mirror):
    url, _ = http_mirror(bucket)
    data = tmp_path / "d"
    result = CliRunner().invoke(
        main,
        [
            "download",
            "--data-dir",
            str(data),
            "--source",
            url,
            "--categories",
            "circle,square,dragon",
            "--workers",
            "1",
        ],
    )
    assert result.exit_code == 1
    assert "dragon.ndjson: HTTP 404" in result.output
    finished = data / "downloads/full/simplified"
    assert sorted(p.name for p in finished.iterdir()) == ["circle.ndjson", "square.ndjson"]


def test_info_reports_versions_devices_and_datasets(bucket, tmp_path):
    data = tmp_path / "d"
    CliRunner().invoke(
        main, ["download", "--data-dir", str(data), "--source", str(bucket), "--categories", "circle,square"]
    )
    result = CliRunner().invoke(main, ["info", "--data-dir", str(data), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["tensorflow"].startswith("2.") and report["keras"].startswith("3.")
    assert report["devices"]["cpus"] >= 1
    assert "2 categories" in report["datasets"]["simplified"]


def test_info_is_quick_names_every_engine_and_the_runs_and_has_no_empty_header(trained_run, tmp_path):
    """Issue 29, #7: `sketch info` took 9.9 s, listed no runs and not onnxruntime, and its table
    began with an empty header row (so did "Training finished")."""
    (tmp_path / "runs").mkdir()
    shutil.copytree(trained_run, tmp_path / "runs" / "shapes")
    done = sketch("info", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "onnxruntime" in done.stdout and "jax" in done.stdout
    assert "run runs/shapes" in done.stdout and "3 categories; conv-lstm, size default" in done.stdout
    assert not any(line.startswith("┃") for line in done.stdout.splitlines())  # no header row
    if not Path("/proc/driver/nvidia/version").exists():  # no driver: TensorFlow is not even imported
        probe = (
            "from sketchrnn_cli.cli.about import report; import sys; report('d'); print('tensorflow' in sys.modules)"
        )
        assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "False"


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a_number_that_is_not_finite_is_a_usage_error(value):
    """Red team 2, cosmetic: --max-minutes nan exited 1, not 2."""
    result = CliRunner().invoke(main, ["train", "--max-minutes", value])
    assert result.exit_code == 2 and ("not a finite number" in result.output or "range" in result.output)


def test_info_names_a_damaged_dataset_and_still_reports(shapes_data, tmp_path):
    """Red team 1, #13: sketch info with damaged metadata."""
    data = tmp_path / "data"
    shutil.copytree(shapes_data, data)
    metadata = next(data.rglob("metadata.json"))
    metadata.write_text('{"categories": ["circle"], "counts": 7, "max_length": 250}')
    done = sketch("info", "--data-dir", data)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{metadata}: damaged" in done.stderr
    assert "tensorflow" in done.stdout and "damaged; run sketch download again" in done.stdout


@pytest.mark.slow
def test_no_workflow_imports_the_download_workflow_to_read_a_build():
    """Issue 20, #1: train, evaluate and the tf.data module read builds through datastore.py."""
    script = (
        "import sys, sketchrnn_cli.model.train, sketchrnn_cli.use.evaluate, sketchrnn_cli.model.tfdata; "
        "print(sorted(m for m in sys.modules if m.startswith('sketchrnn_cli')))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    loaded = done.stdout
    for workflow in ("data.download", "data.convert", "data.own_words", "data.sources", "data.builder"):
        assert f"'sketchrnn_cli.{workflow}'" not in loaded, workflow
    assert "'sketchrnn_cli.use.predict'" not in loaded and "'sketchrnn_cli.use.draw'" not in loaded


# The package's floors, lowest first: a module imports only from its own floor or those below.
FLOORS = ("ground", "data", "model", "use", "api", "cli")


def floor_of(module: str) -> str:
    """The floor of a module named relative to the package ('data.reader', 'config', 'api')."""
    first = module.split(".")[0]
    return first if first in FLOORS else "ground"


def imports_of(path, package_parts: list[str]) -> list[str]:
    """Every module of the package that ``path`` imports (relative or absolute), relative to it."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                target = [*base, *(node.module.split(".") if node.module else [])]
                names = [alias.name for alias in node.names]
                found += [".".join([*target, n]) if not node.module else ".".join(target) for n in names]
            elif node.module and node.module.startswith("sketchrnn_cli."):
                found.append(node.module.removeprefix("sketchrnn_cli."))
        elif isinstance(node, ast.Import):
            found += [a.name.removeprefix("sketchrnn_cli.") for a in node.names if a.name.startswith("sketchrnn_cli.")]
    return [name for name in found if name and name != "__version__" and not name.endswith(".__version__")]


def test_imports_flow_one_way_from_the_command_line_down_to_the_ground():
    """Issue 30: cli -> API -> use -> model -> data -> ground; nothing imports the command line."""
    from pathlib import Path

    import sketchrnn_cli

    root = Path(sketchrnn_cli.__file__).parent
    upward = []
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        package_parts = parts[:-1]
        here = floor_of(".".join(parts)) if parts[-1] != "__init__" or package_parts else "api"
        for module in imports_of(path, package_parts):
            if FLOORS.index(floor_of(module)) > FLOORS.index(here):
                upward.append(f"{'/'.join(parts)}.py imports {module}")
    assert upward == []
