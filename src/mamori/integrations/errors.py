"""The one error every outbound client raises."""

from __future__ import annotations


class DeliveryError(Exception):
    """A message or ticket could not be delivered. `permanent`: retrying cannot help (bad config, 4xx)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
