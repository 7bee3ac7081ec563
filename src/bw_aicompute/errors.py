"""Errors that the command line reports as one message and exit status 2, without a traceback."""


class AicomputeError(Exception):
    """A problem with the user's input or project, stated so that the user can fix it."""
