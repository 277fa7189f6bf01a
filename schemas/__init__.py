"""Marshmallow schemas: the shapes of the contract. They know nothing of Flask or Celery."""

from schemas.complaints import (
    ComplaintCreateSchema,
    ComplaintListSchema,
    ComplaintQueryArgsSchema,
    ComplaintSchema,
    DeliverySchema,
    StatusChangeSchema,
)
from schemas.directory import DirectorySchema, OpdSchema

__all__ = [
    "ComplaintCreateSchema",
    "ComplaintListSchema",
    "ComplaintQueryArgsSchema",
    "ComplaintSchema",
    "DeliverySchema",
    "DirectorySchema",
    "OpdSchema",
    "StatusChangeSchema",
]
