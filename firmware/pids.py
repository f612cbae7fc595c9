"""Process-id allocation shared by the processor monitor and the global process manager."""

__all__ = ["next_free_pid"]


def next_free_pid(taken, last, max_pid):
    """The first pid in ``1 .. max_pid`` after ``last`` (wrapping) that is not in ``taken``, or ``None``.

    Round-robin from the last pid handed out, so a pid that just exited is not reused at once.
    """
    for step in range(1, max_pid + 1):
        pid = (last + step - 1) % max_pid + 1
        if pid not in taken:
            return pid
    return None
