"""``python -m facio`` runs the CLI."""

import sys

from facio.cli import main

sys.exit(main())
