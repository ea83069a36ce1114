"""Errors in the user's training data or options, shown as one message without a traceback."""


class TrainingInputError(Exception):
    """Training cannot start with this data or these options; the message states what to do."""
