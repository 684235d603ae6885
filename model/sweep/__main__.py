"""`python -m model.sweep sweep EXPERIMENT` / `report OUTDIR`, the same as run.py's."""

import sys

from model.sweep.cli import main

sys.exit(main())
