"""Prometheus metrics. Per process: requests by method, route template and status, latencies, bytes received and
sent, upload requests in flight. From the database, so the same on every replica and cached for 30 seconds: bytes
stored and allowed per org, blobs in the store, open upload sessions."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ..db.base import transaction
from ..db.tables import Blob, ImageUpload, Upload
from . import quotas

CONTENT_TYPE = CONTENT_TYPE_LATEST
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
log = logging.getLogger("ngc_registry.metrics")


@dataclass
class StorageFigures:
    used: dict[str, int] = field(default_factory=dict)
    limits: dict[str, int] = field(default_factory=dict)
    blobs: int = 0
    blob_bytes: int = 0
    ngc_uploads: int = 0
    oci_uploads: int = 0


def storage_figures(session: Session) -> StorageFigures:
    blobs, blob_bytes = session.execute(select(func.count(), func.coalesce(func.sum(Blob.size), 0))).one()
    return StorageFigures(used=quotas.usage_by_org(session), limits=quotas.limits_by_org(session), blobs=blobs,
                          blob_bytes=int(blob_bytes),
                          ngc_uploads=session.scalar(select(func.count()).where(Upload.digest.is_(None))) or 0,
                          oci_uploads=session.scalar(select(func.count()).select_from(ImageUpload)) or 0)


def _gauge(name: str, documentation: str, values: dict[tuple, float], labels: list[str]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for label_values, value in values.items():
        family.add_metric(list(label_values), value)
    return family


class StorageCollector:
    """Figures from the database, computed at most once per `ttl` seconds whatever the scrape rate."""

    def __init__(self, sessions: sessionmaker[Session], ttl: float = 30):
        self.sessions, self.ttl = sessions, ttl
        self._lock = threading.Lock()
        self._figures: StorageFigures | None = None
        self._taken = 0.0

    def figures(self) -> StorageFigures | None:
        with self._lock:
            if self._figures is None or time.monotonic() - self._taken > self.ttl:
                try:
                    with transaction(self.sessions) as session:
                        self._figures = storage_figures(session)
                except Exception:  # a scrape must not fail because the database is away; readiness says so
                    log.warning("storage figures unavailable", exc_info=True)
                self._taken = time.monotonic()
            return self._figures

    def collect(self):
        figures = self.figures()
        if figures is None:
            return
        yield _gauge("ngc_registry_storage_used_bytes", "Bytes of distinct blobs each org refers to",
                     {(org,): used for org, used in figures.used.items()}, ["org"])
        yield _gauge("ngc_registry_storage_quota_bytes", "Storage quota of each org that has one",
                     {(org,): limit for org, limit in figures.limits.items()}, ["org"])
        yield _gauge("ngc_registry_blobs", "Blobs in the store", {(): figures.blobs}, [])
        yield _gauge("ngc_registry_blob_bytes", "Bytes of all blobs in the store", {(): figures.blob_bytes}, [])
        yield _gauge("ngc_registry_upload_sessions_open", "Upload sessions begun and not finished",
                     {("ngc",): figures.ngc_uploads, ("oci",): figures.oci_uploads}, ["protocol"])


class Metrics:
    def __init__(self, sessions: sessionmaker[Session], cache_seconds: float = 30):
        self.registry = CollectorRegistry()
        self.requests = Counter("ngc_registry_http_requests", "HTTP requests served",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("ngc_registry_http_request_duration_seconds", "Time to serve a request",
                                 ["method", "route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.received = Counter("ngc_registry_http_received_bytes", "Request body bytes received", ["route"],
                                registry=self.registry)
        self.sent = Counter("ngc_registry_http_sent_bytes", "Response body bytes sent", ["route"],
                            registry=self.registry)
        self.uploads_in_flight = Gauge("ngc_registry_uploads_in_flight",
                                       "Upload requests streaming bytes into this process", registry=self.registry)
        self.registry.register(StorageCollector(sessions, cache_seconds))

    def observe(self, method: str, route: str, status: int, seconds: float, received: int, sent: int) -> None:
        method = method if method in METHODS else "OTHER"
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        if received:
            self.received.labels(route).inc(received)
        if sent:
            self.sent.labels(route).inc(sent)

    def render(self) -> bytes:
        return generate_latest(self.registry)
