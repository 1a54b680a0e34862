"""Prometheus metrics, in a registry owned by one app instance (no import-time globals)."""

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "groundwork_http_requests_total",
            "HTTP requests",
            ["route", "status"],
            registry=self.registry,
        )
        self.answers = Counter(
            "groundwork_answers_total", "Answers by outcome", ["outcome"], registry=self.registry
        )
        self.answer_seconds = Histogram(
            "groundwork_answer_seconds",
            "Time to answer a question",
            registry=self.registry,
            buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10, 30),
        )
        self.queue_depth = Gauge(
            "groundwork_ingestion_queue_depth",
            "Jobs waiting in the ingestion queue",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))
