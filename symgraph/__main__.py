"""``python -m symgraph``: see symgraph/inspect/cli.py."""

import sys

from symgraph.inspect.cli import main

sys.exit(main())
