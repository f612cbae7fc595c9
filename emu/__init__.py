"""The disagg emulation harness and the ``disagg`` command."""
