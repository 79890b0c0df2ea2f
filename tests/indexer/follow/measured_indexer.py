"""``python -m indexer ARGS`` in this process, then its own peak RSS (VmHWM, MiB) to PEAK_FILE.

    python tests/indexer/follow/measured_indexer.py PEAK_FILE follow --config F --exit-at-tip

The same follower as ``python -m indexer``; only the measure is added, because a child's
``ru_maxrss`` starts at its parent's peak (see ``tests/memory.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2]))

from memory import peak_rss_mb

from indexer.cli import main

if __name__ == "__main__":
    peak_file = Path(sys.argv[1])
    try:
        code = main(sys.argv[2:])
    finally:
        peak_file.write_text(f"{peak_rss_mb():.1f}\n")
    sys.exit(code)
