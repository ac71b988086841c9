"""`python -m cwlpilot` is the `cwlpilot` command."""

import sys

from cwlpilot.cli import main

sys.exit(main())
