"""tagsmith: an embeddable engine for marketing tracking.

>>> import tagsmith
>>> with tagsmith.Engine.in_memory() as engine:
...     acme = engine.create_tenant("Acme")
...     shop = engine.customers(acme.id).create(name="Shop", website_url="https://shop.example")
...     engine.trackings(acme.id).create(customer_id=shop.id, name="Buy", kind="button_click",
...                                      selector="button.buy").version
1
"""

from ._tagsmith import (
    AdsConversion,
    ChangeEvent,
    Customer,
    Customers,
    Engine,
    EventBatch,
    Jobs,
    Page,
    Tenant,
    Tracking,
    Trackings,
    UrlRule,
    Worker,
)
from .errors import (
    AlreadyExistsError,
    ConflictError,
    FieldError,
    ForbiddenError,
    InternalError,
    InvalidInputError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    StorageError,
    TagsmithError,
    TimeoutError,
    UnauthorizedError,
    UnavailableError,
)

__all__ = [
    "AdsConversion",
    "AlreadyExistsError",
    "ChangeEvent",
    "ConflictError",
    "Customer",
    "Customers",
    "Engine",
    "EventBatch",
    "FieldError",
    "ForbiddenError",
    "InternalError",
    "InvalidInputError",
    "Jobs",
    "NetworkError",
    "NotFoundError",
    "Page",
    "RateLimitedError",
    "StorageError",
    "TagsmithError",
    "Tenant",
    "TimeoutError",
    "Tracking",
    "Trackings",
    "UnauthorizedError",
    "UnavailableError",
    "UrlRule",
    "Worker",
]
