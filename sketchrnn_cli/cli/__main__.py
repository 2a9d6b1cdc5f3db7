"""`python -m sketchrnn_cli.cli`: the `sketch` command."""

import sys

from .main import main

sys.exit(main())
