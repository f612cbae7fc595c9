"""Subcommands of ``disagg``, one module each."""
