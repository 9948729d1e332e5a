"""The ``promptlab`` command line."""
