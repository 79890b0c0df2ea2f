"""The main job's driver (``drey-warehouse run``, ``make run``): builds or reuses the devnet
(or follows the operator's node), serves and follows it into shards, runs the code location's
jobs in-process, prints the report and compares the warehouse with the simulator's answer key.

The code location (``pipelines.definitions`` and what it imports) never imports this package
or the devnet: an import contract in ``pyproject.toml`` (``make lint``) says so, and
``tests/test_architecture.py`` checks that the contract names every module of the location.
"""
