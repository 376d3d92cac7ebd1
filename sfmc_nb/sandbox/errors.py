"""The two refusal shapes the sandbox answers with: the REST envelope and the OAuth error."""

from __future__ import annotations

DOCS = "https://developer.salesforce.com/docs/marketing/marketing-cloud/guide/error-handling.html"


class ApiError(Exception):
    """A refusal in the REST envelope shape ``{"message", "errorcode", "documentation"}``."""

    def __init__(self, status: int, errorcode: int | None, message: str):
        super().__init__(message)
        self.status, self.errorcode, self.message = status, errorcode, message

    def body(self) -> dict:
        """The envelope; ``errorcode`` is left out where the docs list none (405, 415)."""
        if self.errorcode is None:
            return {"message": self.message, "documentation": DOCS}
        return {"message": self.message, "errorcode": self.errorcode, "documentation": DOCS}


class OAuthError(Exception):
    """A refusal of the token endpoint in the OAuth shape ``{"error", "error_description"}``."""

    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}
