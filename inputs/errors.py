"""Errors about a client's input. Each carries the HTTP status code the service returns for it."""


class InputError(ValueError):
    """An input that cannot be classified as given."""

    status_code = 422


class MalformedInputError(InputError):
    """The input cannot be parsed at all (broken JSON, truncated file)."""

    status_code = 400


class UnsupportedMediaError(InputError):
    """The input is of a type this model cannot read (a PDF sent to an image model)."""

    status_code = 415


class InputTooLargeError(InputError):
    """The input exceeds a configured size bound."""

    status_code = 413


class SchemaError(InputError):
    """The input parses but does not match the model's input schema."""

    status_code = 422
