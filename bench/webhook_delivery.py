"""Webhook delivery throughput with a local receiver, and the cost of the outbox on a change.

1. Deliveries per second: an endpoint on a local HTTP receiver (loopback, answers 200), N
   pending deliveries, each sent by the delivery task's own code (``webhooks.tasks.deliver_task``
   called in this process, one after another): lock and lease in one transaction, sign, POST
   through the SSRF-guarded outbound client, record the attempt in a second transaction. The
   same path a Celery worker runs per attempt, without the broker hop. Several runs; the median
   is reported, with the median and p95 of one attempt.
2. The outbox on a change: the median time of ``customer_update`` with an endpoint subscribed
   to ``customer.updated`` (the event row is written in the change's transaction) against none
   subscribed (only the subscription check), as a ratio. The fan-out task is not published
   here (no worker would take it); a publish costs one Redis round trip after the commit.
3. The query plan of the delivery log (an endpoint's deliveries, newest first), with another
   organization's deliveries in the table: it must use the delivery-log index, which leads
   with the tenant column ``org_id``.

Run: ``python -m bench.webhook_delivery --scale full`` (``make bench``); the suite runs the smoke
scale (``tests/webhooks/test_bench_smoke.py``). Standalone, it creates throwaway test databases
(suffix ``_bench_hooks``) and drops them at the end.
"""

from __future__ import annotations

import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock

from bench import _harness as harness

SCALES: dict[str, dict[str, int]] = {
    "smoke": {"deliveries": 20, "runs": 3, "changes": 20, "other_deliveries": 3_000},
    "full": {"deliveries": 500, "runs": 5, "changes": 300, "other_deliveries": 50_000},
}


class _Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _receiver() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def delivery_runs(org: Any, endpoint: Any, deliveries: int, runs: int) -> dict[str, Any]:
    from django.utils import timezone

    from tenancy.context import ORGANIZATION, context
    from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEvent
    from webhooks.tasks import deliver_task

    rates, attempt_ms = [], []
    for _ in range(runs):
        with context(org_id=org.id, role=ORGANIZATION):
            now = timezone.now()
            events = WebhookEvent.objects.bulk_create(
                [
                    WebhookEvent(
                        org=org,
                        event_type="customer.updated",
                        data={"customer": {"n": n}},
                        dispatched_at=now,
                    )
                    for n in range(deliveries)
                ]
            )
            batch = WebhookDelivery.objects.bulk_create(
                [
                    WebhookDelivery(org=org, endpoint=endpoint, event=e, next_attempt_at=now)
                    for e in events
                ]
            )
        started = time.perf_counter()
        for delivery in batch:
            one = time.perf_counter()
            outcome = deliver_task(org_id=str(org.id), delivery_id=str(delivery.id))
            attempt_ms.append((time.perf_counter() - one) * 1000)
            if outcome != DeliveryStatus.DELIVERED:
                raise RuntimeError(f"delivery {delivery.id} ended {outcome}")
        rates.append(deliveries / (time.perf_counter() - started))
    return {
        "rates": rates,
        "rate_median": statistics.median(rates),
        "attempt_p50_ms": statistics.median(attempt_ms),
        "attempt_p95_ms": harness.percentile(attempt_ms, 0.95),
    }


def outbox_ratio(org: Any, changes: int) -> dict[str, float]:
    from customers.services import customer_update
    from tenancy.context import ORGANIZATION, context
    from tests.factories import make_customer
    from webhooks.models import WebhookEndpoint

    customer = make_customer(org, "Bench customer")

    def timed_updates() -> float:
        seconds = []
        for n in range(changes):
            start = time.perf_counter()
            with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
                customer_update(
                    acting_user=org.owner, customer=customer, name=f"Bench {n}", external_id=None
                )
            seconds.append(time.perf_counter() - start)
        return statistics.median(seconds) * 1000

    with context(org_id=org.id, role=ORGANIZATION):
        WebhookEndpoint.objects.update(event_types=["limit.reached"])
    without = timed_updates()
    with context(org_id=org.id, role=ORGANIZATION):
        WebhookEndpoint.objects.update(event_types=["customer.updated"])
    with mock.patch("webhooks.services.outbox.publish_on_commit"):
        with_event = timed_updates()
    return {
        "change_ms_without": without,
        "change_ms_with": with_event,
        "outbox_ratio": with_event / without,
    }


def _other_tenants_deliveries(count: int) -> None:
    """A second organization's delivery log, so the tenant's rows are a small share of the
    table (as they are in production) and the plan has a reason to use the index."""
    from tenancy.context import ORGANIZATION, context
    from tests.factories import make_org
    from tests.webhooks.conftest import make_endpoint
    from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEvent

    other = make_org("Bench Webhooks neighbour", plan_code="enterprise")
    endpoint = make_endpoint(other, event_types=["customer.updated"])
    with context(org_id=other.id, role=ORGANIZATION):
        for start in range(0, count, 5_000):
            size = min(5_000, count - start)
            events = WebhookEvent.objects.bulk_create(
                [WebhookEvent(org=other, event_type="customer.updated") for _ in range(size)]
            )
            WebhookDelivery.objects.bulk_create(
                [
                    WebhookDelivery(
                        org=other, endpoint=endpoint, event=e, status=DeliveryStatus.DELIVERED
                    )
                    for e in events
                ]
            )


def delivery_log_plan(org: Any, endpoint: Any, other_deliveries: int) -> str:
    from django.db import connections

    from tenancy.context import ORGANIZATION, context
    from webhooks.selectors import endpoint_deliveries

    _other_tenants_deliveries(other_deliveries)
    with connections["owner"].cursor() as cursor:  # the table's owner may ANALYZE it
        cursor.execute("ANALYZE webhooks_webhookdelivery, webhooks_webhookevent")
    with context(org_id=org.id, role=ORGANIZATION):
        return str(endpoint_deliveries(endpoint)[:25].explain())


def uses_tenant_index(plan: str) -> bool:
    """Whether the deliveries are read through an index whose condition starts with org_id
    (the delivery-log index or the one on org_id), not by a scan of the whole table."""
    lines = plan.splitlines()
    for line, following in zip(lines, [*lines[1:], ""], strict=True):
        if "Index" in line and " on webhooks_webhookdelivery" in line:
            condition = following.strip().removeprefix("Index Cond: ").lstrip("(")
            if condition.startswith("org_id"):
                return True
    return False


def run(scale: str) -> dict[str, Any]:
    """Every measurement, in already-prepared (test) databases."""
    from django.conf import settings

    from tests.factories import make_org
    from tests.webhooks.conftest import make_endpoint

    params = SCALES[scale]
    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = True  # the receiver listens on loopback
    server = _receiver()
    try:
        org = make_org("Bench Webhooks", plan_code="enterprise")
        endpoint = make_endpoint(
            org,
            url=f"http://127.0.0.1:{server.server_address[1]}/hook",
            event_types=["customer.updated"],
        )
        figures: dict[str, Any] = {"scale": scale, **params}
        figures.update(delivery_runs(org, endpoint, params["deliveries"], params["runs"]))
        figures.update(outbox_ratio(org, params["changes"]))
        figures["plan"] = delivery_log_plan(org, endpoint, params["other_deliveries"])
    finally:
        server.shutdown()
        server.server_close()
    figures["plan_uses_tenant_index"] = uses_tenant_index(figures["plan"])
    return figures


def report(figures: dict[str, Any]) -> str:
    rates = ", ".join(f"{r:.0f}" for r in figures["rates"])
    return "\n".join(
        [
            f"webhook deliveries to a local receiver, one process, {figures['deliveries']} per "
            f"run x {figures['runs']} runs: median {figures['rate_median']:.0f} deliveries/s "
            f"(runs: {rates}); one attempt p50 {figures['attempt_p50_ms']:.2f} ms, "
            f"p95 {figures['attempt_p95_ms']:.2f} ms",
            f"outbox on a change (customer_update, median of {figures['changes']}): "
            f"{figures['change_ms_with']:.2f} ms with the event vs "
            f"{figures['change_ms_without']:.2f} ms without, ratio {figures['outbox_ratio']:.2f}",
            f"delivery log query uses the tenant index: {figures['plan_uses_tenant_index']}",
        ]
    )


def main() -> int:
    return harness.main(__doc__, SCALES, "_bench_hooks", lambda args: (report(run(args.scale)), 0))


if __name__ == "__main__":
    raise SystemExit(main())
