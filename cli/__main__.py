"""`python -m cwlpilot` is the `cwlpilot` command."""

import sys

from cwlpilot.main import main

sys.exit(main())
