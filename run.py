#!/usr/bin/env python3
"""Command line of the grass-roots governance simulator: ``python run.py --help``."""

import sys

from model.cli import main

if __name__ == "__main__":
    sys.exit(main())
