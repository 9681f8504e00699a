"""Type stubs for the native module; the public names are re-exported by ``tagsmith``."""

from datetime import datetime
from typing import Any, Awaitable, Dict, Iterator, List, Literal, Optional, TypedDict, Union, final

from os import PathLike

_TrackingKind = Literal[
    "button_click", "link_click", "form_submit", "page_view", "element_visibility", "scroll_depth", "custom_event"
]
_SyncStatus = Literal["pending", "syncing", "synced", "failed", "deleted"]
_UrlMatch = Literal["equals", "contains", "starts_with", "regex"]

class _EventRetention(TypedDict, total=False):
    max_events: int
    max_age_secs: int

class _SyncJobs(TypedDict, total=False):
    kind: str
    queue: str

_Entity = Literal["tenant", "customer", "tracking", "job"]
_JobState = Literal["available", "scheduled", "running", "retryable", "completed", "discarded", "cancelled"]

class _AttemptError(TypedDict):
    at: datetime
    attempt: int
    message: str

class _Job(TypedDict):
    id: int
    tenant_id: Optional[str]
    queue: str
    kind: str
    args: Any
    priority: int
    state: _JobState
    attempt: int
    max_attempts: int
    scheduled_at: datetime
    unique_key: Optional[str]
    concurrency_key: Optional[str]
    errors: List[_AttemptError]
    progress: Optional[Dict[str, Any]]
    lease_owner: Optional[str]
    lease_expires_at: Optional[datetime]
    created_at: datetime
    attempted_at: Optional[datetime]
    finalized_at: Optional[datetime]

class _Enqueued(TypedDict):
    id: int
    duplicate: bool

class _JobStats(TypedDict):
    available: int
    scheduled: int
    running: int
    retryable: int
    completed: int
    discarded: int
    cancelled: int

class _WorkerReport(TypedDict):
    completed: int
    retried: int
    discarded: int
    released: int
    lost: int
    rescued: int

@final
class Tenant:
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    def to_dict(self) -> Dict[str, Any]: ...

@final
class Customer:
    @property
    def id(self) -> str: ...
    @property
    def tenant_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def website_url(self) -> str: ...
    @property
    def google(self) -> Literal["not_connected", "connected", "error"]: ...
    @property
    def version(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    def to_dict(self) -> Dict[str, Any]: ...

@final
class UrlRule:
    @property
    def match(self) -> _UrlMatch: ...
    @property
    def value(self) -> str: ...
    def to_dict(self) -> Dict[str, Any]: ...

@final
class AdsConversion:
    @property
    def category(self) -> str: ...
    @property
    def value(self) -> Optional[float]: ...
    @property
    def currency(self) -> Optional[str]: ...
    def to_dict(self) -> Dict[str, Any]: ...

@final
class Tracking:
    @property
    def id(self) -> str: ...
    @property
    def tenant_id(self) -> str: ...
    @property
    def customer_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> _TrackingKind: ...
    @property
    def selector(self) -> Optional[str]: ...
    @property
    def url_rule(self) -> Optional[UrlRule]: ...
    @property
    def ga4_event(self) -> Optional[str]: ...
    @property
    def ga4_params(self) -> Dict[str, str]: ...
    @property
    def ads(self) -> Optional[AdsConversion]: ...
    @property
    def scroll_percent(self) -> Optional[int]: ...
    @property
    def sync_status(self) -> _SyncStatus: ...
    @property
    def sync_error(self) -> Optional[str]: ...
    @property
    def external_ids(self) -> Dict[str, Dict[str, str]]: ...
    @property
    def version(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def last_synced_at(self) -> Optional[datetime]: ...
    def to_dict(self) -> Dict[str, Any]: ...

@final
class ChangeEvent:
    @property
    def seq(self) -> int: ...
    @property
    def tenant_id(self) -> str: ...
    @property
    def entity(self) -> Literal["tenant", "customer", "tracking", "job"]: ...
    @property
    def id(self) -> str: ...
    @property
    def action(self) -> Literal["created", "updated", "deleted", "status_changed"]: ...
    @property
    def version(self) -> int: ...
    @property
    def sync_status(self) -> Optional[_SyncStatus]: ...
    @property
    def job_state(self) -> Optional[_JobState]: ...
    @property
    def at(self) -> datetime: ...
    @property
    def actor(self) -> Optional[str]: ...
    def to_dict(self) -> Dict[str, Any]: ...

@final
class EventBatch:
    @property
    def events(self) -> List[ChangeEvent]: ...
    @property
    def missed(self) -> int: ...
    @property
    def last_seq(self) -> int: ...
    @property
    def reset(self) -> bool: ...
    def to_dict(self) -> Dict[str, Any]: ...

@final
class Page:
    @property
    def items(self) -> List[Any]: ...
    @property
    def total(self) -> int: ...
    @property
    def next_cursor(self) -> Optional[str]: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[Any]: ...

@final
class Customers:
    def create(self, *, name: str, website_url: str) -> Customer: ...
    def acreate(self, *, name: str, website_url: str) -> Awaitable[Customer]: ...
    def get(self, id: str) -> Customer: ...
    def aget(self, id: str) -> Awaitable[Customer]: ...
    def list(self, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> Page: ...
    def alist(self, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> Awaitable[Page]: ...
    def update(
        self, id: str, *, version: int, name: str = ..., website_url: str = ...
    ) -> Customer: ...
    def aupdate(
        self, id: str, *, version: int, name: str = ..., website_url: str = ...
    ) -> Awaitable[Customer]: ...
    def delete(self, id: str, *, version: Optional[int] = None) -> Customer: ...
    def adelete(self, id: str, *, version: Optional[int] = None) -> Awaitable[Customer]: ...

@final
class Trackings:
    def create(
        self,
        *,
        customer_id: str,
        name: str,
        kind: _TrackingKind,
        selector: Optional[str] = None,
        url_rule: Optional[Dict[str, str]] = None,
        ga4_event: Optional[str] = None,
        ga4_params: Dict[str, str] = ...,
        ads: Optional[Dict[str, Union[str, float, None]]] = None,
        scroll_percent: Optional[int] = None,
    ) -> Tracking: ...
    def acreate(
        self,
        *,
        customer_id: str,
        name: str,
        kind: _TrackingKind,
        selector: Optional[str] = None,
        url_rule: Optional[Dict[str, str]] = None,
        ga4_event: Optional[str] = None,
        ga4_params: Dict[str, str] = ...,
        ads: Optional[Dict[str, Union[str, float, None]]] = None,
        scroll_percent: Optional[int] = None,
    ) -> Awaitable[Tracking]: ...
    def get(self, id: str) -> Tracking: ...
    def aget(self, id: str) -> Awaitable[Tracking]: ...
    def list(
        self, *, limit: Optional[int] = None, cursor: Optional[str] = None, customer_id: Optional[str] = None
    ) -> Page: ...
    def alist(
        self, *, limit: Optional[int] = None, cursor: Optional[str] = None, customer_id: Optional[str] = None
    ) -> Awaitable[Page]: ...
    def update(
        self,
        id: str,
        *,
        version: int,
        name: str = ...,
        kind: _TrackingKind = ...,
        selector: Optional[str] = ...,
        url_rule: Optional[Dict[str, str]] = ...,
        ga4_event: Optional[str] = ...,
        ga4_params: Dict[str, str] = ...,
        ads: Optional[Dict[str, Union[str, float, None]]] = ...,
        scroll_percent: Optional[int] = ...,
    ) -> Tracking: ...
    def aupdate(
        self,
        id: str,
        *,
        version: int,
        name: str = ...,
        kind: _TrackingKind = ...,
        selector: Optional[str] = ...,
        url_rule: Optional[Dict[str, str]] = ...,
        ga4_event: Optional[str] = ...,
        ga4_params: Dict[str, str] = ...,
        ads: Optional[Dict[str, Union[str, float, None]]] = ...,
        scroll_percent: Optional[int] = ...,
    ) -> Awaitable[Tracking]: ...
    def delete(self, id: str, *, version: Optional[int] = None) -> Tracking: ...
    def adelete(self, id: str, *, version: Optional[int] = None) -> Awaitable[Tracking]: ...

@final
class Engine:
    """The tagsmith engine. Thread-safe: share one across threads (calls release the GIL).
    Not fork-safe while open: open engines in the child after ``fork()``."""

    @staticmethod
    def open(
        path: Union[str, "PathLike[str]"],
        *,
        event_retention: Optional[_EventRetention] = ...,
        busy_timeout_ms: Optional[int] = ...,
        sync_jobs: Optional[_SyncJobs] = ...,
        schema: Optional[str] = ...,
    ) -> Engine: ...
    @staticmethod
    def aopen(
        path: Union[str, "PathLike[str]"],
        *,
        event_retention: Optional[_EventRetention] = ...,
        busy_timeout_ms: Optional[int] = ...,
        sync_jobs: Optional[_SyncJobs] = ...,
        schema: Optional[str] = ...,
    ) -> Awaitable[Engine]: ...
    @staticmethod
    def in_memory() -> Engine: ...
    @property
    def backend(self) -> str: ...
    def create_tenant(self, name: str) -> Tenant: ...
    def acreate_tenant(self, name: str) -> Awaitable[Tenant]: ...
    def get_tenant(self, id: str) -> Tenant: ...
    def aget_tenant(self, id: str) -> Awaitable[Tenant]: ...
    def list_tenants(self, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> Page: ...
    def alist_tenants(self, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> Awaitable[Page]: ...
    def customers(self, tenant_id: str) -> Customers: ...
    def trackings(self, tenant_id: str) -> Trackings: ...
    def events(
        self,
        tenant_id: str,
        after: Optional[int] = None,
        limit: Optional[int] = None,
        *,
        entity: Optional[_Entity] = None,
        id: Optional[str] = None,
        actor: Optional[str] = None,
        since: Union[datetime, str, None] = None,
        until: Union[datetime, str, None] = None,
    ) -> EventBatch: ...
    def aevents(
        self,
        tenant_id: str,
        after: Optional[int] = None,
        limit: Optional[int] = None,
        *,
        entity: Optional[_Entity] = None,
        id: Optional[str] = None,
        actor: Optional[str] = None,
        since: Union[datetime, str, None] = None,
        until: Union[datetime, str, None] = None,
    ) -> Awaitable[EventBatch]: ...
    def acting_as(self, actor: str) -> Engine: ...
    @property
    def actor(self) -> Optional[str]: ...
    def jobs(self) -> Jobs: ...
    def worker(
        self,
        *,
        queues: List[Any] = ...,
        id: Optional[str] = ...,
        lease_ms: int = ...,
        poll_ms: int = ...,
        job_timeout_ms: int = ...,
        max_backoff_ms: int = ...,
        keep_final_secs: int = ...,
        maintenance_ms: int = ...,
    ) -> Worker: ...
    def close(self) -> None: ...
    def __enter__(self) -> Engine: ...
    def __exit__(self, *exc: object) -> bool: ...

@final
class Jobs:
    """The engine's durable job queue, from ``engine.jobs()``."""

    def enqueue(
        self,
        kind: str,
        args: Any = None,
        *,
        queue: str = ...,
        tenant_id: Optional[str] = ...,
        priority: int = ...,
        max_attempts: int = ...,
        run_at: Optional[str] = ...,
        unique_key: Optional[str] = ...,
        unique_states: Optional[List[_JobState]] = ...,
        concurrency_key: Optional[str] = ...,
    ) -> _Enqueued: ...
    def aenqueue(
        self,
        kind: str,
        args: Any = None,
        *,
        queue: str = ...,
        tenant_id: Optional[str] = ...,
        priority: int = ...,
        max_attempts: int = ...,
        run_at: Optional[str] = ...,
        unique_key: Optional[str] = ...,
        unique_states: Optional[List[_JobState]] = ...,
        concurrency_key: Optional[str] = ...,
    ) -> Awaitable[_Enqueued]: ...
    def enqueue_many(self, jobs: List[Dict[str, Any]]) -> List[Dict[str, Any]]: ...
    def aenqueue_many(self, jobs: List[Dict[str, Any]]) -> Awaitable[List[Dict[str, Any]]]: ...
    def progress(self, job: _Job, percent: int, message: Optional[str] = None) -> None: ...
    def aprogress(self, job: _Job, percent: int, message: Optional[str] = None) -> Awaitable[None]: ...
    def get(self, id: int) -> _Job: ...
    def aget(self, id: int) -> Awaitable[_Job]: ...
    def list(
        self,
        *,
        state: Optional[_JobState] = ...,
        kind: Optional[str] = ...,
        queue: Optional[str] = ...,
        tenant_id: Optional[str] = ...,
        after: Optional[int] = ...,
        limit: Optional[int] = ...,
    ) -> List[_Job]: ...
    def alist(
        self,
        *,
        state: Optional[_JobState] = ...,
        kind: Optional[str] = ...,
        queue: Optional[str] = ...,
        tenant_id: Optional[str] = ...,
        after: Optional[int] = ...,
        limit: Optional[int] = ...,
    ) -> Awaitable[List[_Job]]: ...
    def retry(self, id: int) -> _Job: ...
    def aretry(self, id: int) -> Awaitable[_Job]: ...
    def cancel(self, id: int) -> _Job: ...
    def acancel(self, id: int) -> Awaitable[_Job]: ...
    def stats(self, tenant_id: Optional[str] = None) -> _JobStats: ...
    def astats(self, tenant_id: Optional[str] = None) -> Awaitable[_JobStats]: ...

@final
class Worker:
    """Runs jobs with Python handlers (a function or an ``async def`` taking the job dict)."""

    def register(
        self, kind: str, handler: Any, timeout_ms: Optional[int] = None, max_backoff_ms: Optional[int] = None
    ) -> None: ...
    def periodic(self, name: str, cron: str, kind: str, args: Any = None, **job_options: Any) -> None: ...
    def run_until_idle(self) -> _WorkerReport: ...
    def arun_until_idle(self) -> Awaitable[_WorkerReport]: ...
    def start(self) -> None: ...
    def shutdown(self, deadline_ms: int = 10000) -> _WorkerReport: ...
    def ashutdown(self, deadline_ms: int = 10000) -> Awaitable[_WorkerReport]: ...

def _panic_for_tests() -> None: ...
