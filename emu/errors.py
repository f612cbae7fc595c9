"""The one exception type the ``disagg`` command turns into a one-line error."""


class DisaggError(Exception):
    """A user-facing error: bad input, an impossible configuration, a missing tool.

    The command-line entry point prints ``disagg: error: <message>`` and exits with status 2.
    """
