"""Build a warehouse in its own process (so a crash point can SIGKILL it), as the main job
does: the chain job, every month, the publication, under the store's writer lock.

    python tests/pipelines/crash_driver.py SHARDS WAREHOUSE_DIR FOUNDER_HEX [TIP]

``DREY_CRASH_AT`` set in the environment picks the crash point (``indexer/faults.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from harness import make_pipeline

from pipelines.writer_lock import writer_lock


def main() -> None:
    shards, directory, founder = Path(sys.argv[1]), Path(sys.argv[2]), bytes.fromhex(sys.argv[3])
    pipeline = make_pipeline(shards, directory, founder)
    with writer_lock(directory, holder="crash driver"):
        pipeline.run_all()
    print("built", flush=True)


if __name__ == "__main__":
    main()
