"""The one exception family the command line turns into a one-line message and a non-zero exit.

Every module raises a subclass of :class:`FramescoreError` for bad input (a file that is missing or not what it
claims, a value out of range, an unknown chord). Anything else escaping is a bug and keeps its traceback.
"""


class FramescoreError(ValueError):
    """Bad input or an unmet requirement, described in one line that names the problem."""
