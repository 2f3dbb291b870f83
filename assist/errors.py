"""The one root exception a user may see."""


class AssistError(Exception):
    """An error with a message meant for the user; the CLI prints it on one line."""
