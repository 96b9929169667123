"""Exceptions with messages that name the offending file, field or value."""


class TrouterError(Exception):
    """Base class: a user-facing error; the CLI prints it and exits non-zero."""


class ConfigError(TrouterError):
    """A config value is missing or invalid."""


class DataError(TrouterError):
    """An input or output table breaks its contract."""


class LLMError(TrouterError):
    """An LLM call failed after its retries."""


class WeightsError(TrouterError):
    """Model weights could not be fetched or failed their checksum."""
