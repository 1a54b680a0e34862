"""The one domain error tree. Every error carries a message that is safe to show a user.

    GroundworkError
    ├── InvalidInput            (422) a field failed validation; names the field and the limit
    │   ├── PayloadTooLarge     (413) an upload or body over the configured limit
    │   └── DocumentRejected    (422) a file cannot be ingested; the reason is stored on the document
    ├── NotAuthenticated        (401) no valid session or API key
    ├── PermissionDenied        (403) authenticated, but the role does not allow the action
    ├── NotFound                (404) missing, or not readable by the caller (the two look the same)
    ├── Conflict                (409) a unique name is taken, or a state transition is not allowed
    ├── RateLimited             (429) too many requests from one caller
    ├── DependencyUnavailable   (503) the database, Redis or another service is down
    └── ConfigurationError      (500) the deployment is inconsistent (model vs. stored vectors...)

The mapping to HTTP lives in ``app.web.errors``; nothing else chooses status codes.
"""


class GroundworkError(Exception):
    """Base class. ``message`` is shown to users; put details for operators in logs."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(GroundworkError):
    pass


class PayloadTooLarge(InvalidInput):
    pass


class DocumentRejected(InvalidInput):
    """Raised by parsers and the pipeline; ``message`` becomes the document's ``error``."""


class NotAuthenticated(GroundworkError):
    pass


class PermissionDenied(GroundworkError):
    pass


class NotFound(GroundworkError):
    pass


class Conflict(GroundworkError):
    pass


class RateLimited(GroundworkError):
    pass


class DependencyUnavailable(GroundworkError):
    pass


class ConfigurationError(GroundworkError):
    pass
