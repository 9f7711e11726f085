"""The outbound client itself: the SSRF guard's address rule (IPv6 forms of internal IPv4
addresses included, for literal hosts and resolved addresses alike), the wall-clock deadline
against servers that drip, and the refusal to call out with a database transaction open."""

from __future__ import annotations

import ipaddress
import time

import pytest
from django.db import transaction

from dataplane import outbound
from tenancy.context import ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.dataplane.targets import DRIP_PREFIXES, dripping_server, running_target
from tests.factories import make_org

# IPv6 spellings of loopback, link-local (cloud metadata), private and reserved IPv4
# addresses, and IPv6 ranges that tunnel or translate to IPv4 hosts.
INTERNAL = [
    "64:ff9b::a9fe:a9fe",  # NAT64 well-known prefix → 169.254.169.254
    "64:ff9b::7f00:1",  # NAT64 → 127.0.0.1
    "64:ff9b::10.0.0.1",  # NAT64 → 10.0.0.1, dotted spelling
    "64:ff9b:1::a9fe:a9fe",  # NAT64 local-use prefix
    "64:ff9b:1::808:808",  # local-use NAT64, even around a public address
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:7f00:1",  # IPv4-mapped, hex
    "::ffff:169.254.169.254",
    "::ffff:192.168.0.1",
    "::7f00:1",  # IPv4-compatible → 127.0.0.1
    "::a9fe:a9fe",  # IPv4-compatible → 169.254.169.254
    "::ffff:0:7f00:1",  # IPv4-translated → 127.0.0.1
    "2002:7f00:1::1",  # 6to4 → 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 → 169.254.169.254
    "2002:a00:1::1",  # 6to4 → 10.0.0.1
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "2001::1",  # Teredo prefix
    "fec0::1",  # site-local
    "fe80::1",  # link-local
    "::1",
    "::",
    "ff02::1",  # multicast
    "fc00::1",  # unique local
    "224.0.0.1",  # IPv4 multicast
    "100.64.0.1",  # shared address space
    "0.0.0.0",
]
PUBLIC = [
    "8.8.8.8",
    "2001:4860:4860::8888",
    "64:ff9b::808:808",  # NAT64 of a public address
    "::ffff:8.8.8.8",
    "2002:808:808::1",  # 6to4 of a public address
]


def _url(address: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"https://{host}/latest/meta-data/"


@pytest.mark.parametrize("address", INTERNAL)
def test_a_literal_internal_address_in_any_spelling_is_refused(address) -> None:
    with pytest.raises(outbound.UnsafeURL):
        outbound.check_url(_url(address))


@pytest.mark.parametrize("address", INTERNAL)
def test_one_rule_judges_every_address(address) -> None:
    assert not outbound.address_is_public(ipaddress.ip_address(address))
    assert not outbound.address_is_public(ipaddress.ip_address(address), loopback_allowed=False)


@pytest.mark.parametrize("address", INTERNAL)
def test_a_host_resolving_to_an_internal_address_is_refused(address) -> None:
    # getaddrinfo answers a numeric host with the address itself: the resolved-address path.
    with pytest.raises(outbound.UnsafeURL):
        outbound.resolve("https", address, 443, outbound.Deadline(5))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_stay_callable(address) -> None:
    outbound.check_url(_url(address))
    assert outbound.address_is_public(ipaddress.ip_address(address))


@pytest.mark.django_db(databases=ALL_DATABASES)
@pytest.mark.parametrize(
    "url",
    [
        "https://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
        "https://[::ffff:127.0.0.1]:8000/",
        "https://[2002:7f00:1::1]/",
        "https://2130706433/",  # 127.0.0.1 as one number: only resolution reveals it
        "https://0x7f.1/",
    ],
)
def test_request_refuses_internal_addresses_without_connecting(url) -> None:
    result = outbound.request("GET", url, timeout=2)
    assert result.outcome == outbound.REFUSED, result.error


def test_the_local_test_allowance_does_not_extend_to_other_spellings_of_loopback(
    settings,
) -> None:
    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = True
    outbound.check_url("http://127.0.0.1:8000/")
    for url in ("http://[::ffff:127.0.0.1]:8000/", "http://[::7f00:1]:8000/", "http://[::1]/"):
        with pytest.raises(outbound.UnsafeURL):
            outbound.check_url(url)


# The deadline ------------------------------------------------------------------------------


@pytest.mark.django_db(databases=ALL_DATABASES)
@pytest.mark.parametrize("stage", sorted(DRIP_PREFIXES))
def test_a_dripping_server_cannot_hold_a_call_past_its_deadline(settings, stage) -> None:
    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = True
    with dripping_server(stage, every=0.25, for_seconds=8) as base:
        started = time.monotonic()
        result = outbound.request("GET", f"{base}/drip", timeout=1)
        elapsed = time.monotonic() - started
    assert result.outcome == outbound.TIMEOUT, (result.outcome, result.error)
    assert elapsed < 2.0, f"the call took {elapsed:.1f} s with a 1 s deadline"
    assert result.duration_ms < 2000


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_dripping_server_cannot_hold_a_workflow_step_past_its_timeout(settings) -> None:
    from dataplane.services import PlannedStep, workflow_steps_execute

    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = True
    with dripping_server("headers", every=0.25, for_seconds=8) as base:
        steps = [PlannedStep("drip", f"{base}/x", "GET", {}, timeout=1)]
        started = time.monotonic()
        outcome = workflow_steps_execute(steps=steps, version=1)
        elapsed = time.monotonic() - started
    assert outcome.status == "timeout", outcome.message
    assert elapsed < 2.0


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_complete_response_is_not_cut_by_the_deadline(settings) -> None:
    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = True
    with running_target() as target:
        result = outbound.request("POST", target.url("/echo"), json_body={"a": 1}, timeout=5)
    assert result.outcome == outbound.OK
    assert b'"echo": {"a": 1}' in result.body


# No call inside a transaction --------------------------------------------------------------


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_an_outbound_call_inside_a_transaction_is_refused(settings) -> None:
    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = True
    org = make_org("Acme")
    with running_target() as target:
        with transaction.atomic():
            with pytest.raises(outbound.OutboundInTransaction):
                outbound.request("GET", target.url("/ok"))
        with context(org_id=org.id, role=ORGANIZATION):
            with pytest.raises(outbound.OutboundInTransaction, match="default"):
                outbound.request("GET", target.url("/ok"))
        assert outbound.request("GET", target.url("/ok")).ok
    assert len(target.requests) == 1
