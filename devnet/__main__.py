"""``python -m devnet`` entry point."""

import sys

from devnet.cli import main

sys.exit(main())
