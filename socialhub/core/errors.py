"""The errors services raise. Their messages are written for the person using the app."""


class ServiceError(Exception):
    """Base class: `str(error)` is safe to show in the page."""


class ValidationError(ServiceError):
    pass


class PermissionDenied(ServiceError):
    pass


class NotFound(ServiceError):
    pass


class RateLimited(ServiceError):
    pass
