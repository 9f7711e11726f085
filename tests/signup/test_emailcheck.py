"""The email step's pure functions (SPEC §8.1)."""

from __future__ import annotations

import json

import pytest

from signup.emailcheck import (
    BLOCKLIST_PATH,
    EmailInvalid,
    check_email,
    edit_distance,
    is_personal_domain,
    normalize_email,
    personal_domains,
    registrable_domain,
    suggest_domain,
)


def test_blocklist_is_data_with_sources_and_about_forty_domains() -> None:
    data = json.loads(BLOCKLIST_PATH.read_text())
    assert data["sources"] and all(
        source["url"].startswith("https://") for source in data["sources"]
    )
    assert 35 <= len(data["domains"]) <= 60
    assert len(set(data["domains"])) == len(data["domains"])
    for required in [
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "mail.ru",
        "yandex.ru",
        "qq.com",
        "163.com",
        "126.com",
        "zoho.com",
    ]:
        assert required in personal_domains()


@pytest.mark.parametrize(
    "domain",
    [
        "gmail.com",
        "GMAIL.COM",
        "Gmail.Com.",
        "mail.gmail.com",
        "a.b.yahoo.co.uk",
        "hotmail.co.uk",
        "me.com",
        "qq.com",
    ],
)
def test_personal_providers_match_case_trailing_dot_and_subdomains(domain: str) -> None:
    assert is_personal_domain(domain)


@pytest.mark.parametrize(
    "domain",
    [
        "notgmail.com",
        "gmail.com.evil.io",
        "mygmail.com",
        "acme.com",
        "outlook.company",
        "me.company.com",
        "xqq.com",
    ],
)
def test_lookalikes_on_other_label_boundaries_pass(domain: str) -> None:
    assert not is_personal_domain(domain)


def test_check_email_lowercases_and_reduces_to_the_registrable_domain() -> None:
    checked = check_email("  Jo.Smith+signup@EU.Mail.ACME.co.uk ")
    assert checked.email == "jo.smith+signup@eu.mail.acme.co.uk"
    assert checked.domain == "eu.mail.acme.co.uk"
    assert checked.registrable_domain == "acme.co.uk"
    assert not checked.is_personal and checked.hint == ""


def test_subdomain_of_a_personal_provider_is_personal() -> None:
    checked = check_email("jo@Mail.GMAIL.com.")
    assert checked.email == "jo@mail.gmail.com"
    assert checked.registrable_domain == "gmail.com"
    assert checked.personal_provider == "gmail.com"


def test_unicode_domains_become_punycode() -> None:
    checked = check_email("anna@Bücher.DE")
    assert checked.email == "anna@xn--bcher-kva.de"
    assert checked.registrable_domain == "xn--bcher-kva.de"
    assert registrable_domain("shop.bücher.de") == "xn--bcher-kva.de"
    assert registrable_domain("xn--bcher-kva.de") == "xn--bcher-kva.de"


def test_registrable_domain_accepts_emails_and_domains() -> None:
    assert registrable_domain("jo@a.b.example.com") == "example.com"
    assert registrable_domain("WWW.Example.COM.") == "example.com"
    assert registrable_domain("team.github.io") == "team.github.io"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "jo",
        "jo@",
        "@acme.com",
        "a@b@acme.com",
        "jo@acme",
        "jo@co.uk",
        "jo@1.2.3.4",
        "j o@acme.com",
        "jo@acme..com",
        "jo@-acme.com",
        "jo\x00@acme.com",
        "jo@ac\nme.com",
        "jö@acme.com",
        "jo@" + "a" * 64 + ".com",
        "x" * 65 + "@acme.com",
        "<script>@acme.com",
        "jo@acme.com<script>",
    ],
)
def test_malformed_addresses_are_refused_with_a_message(raw: str) -> None:
    with pytest.raises(EmailInvalid) as excinfo:
        check_email(raw)
    assert str(excinfo.value)


@pytest.mark.parametrize(
    ("domain", "hint"),
    [
        ("gmial.com", "gmail.com"),
        ("hotmial.com", "hotmail.com"),
        ("yaho.com", "yahoo.com"),
        ("outlok.com", "outlook.com"),
        ("gmaill.com", "gmail.com"),
        ("mail.gmial.com", "gmail.com"),
        ("hotmial.co.uk", "hotmail.co.uk"),
        ("acme.con", "acme.com"),
        ("acme.cmo", "acme.com"),
    ],
)
def test_near_misses_get_a_hint(domain: str, hint: str) -> None:
    assert suggest_domain(domain) == hint
    checked = check_email(f"jo@{domain}")
    assert checked.hint == hint
    assert not checked.is_personal


@pytest.mark.parametrize(
    "domain",
    ["acme.com", "notgmail.com", "mygmail.com", "qa.com", "aml.com", "gmail.com", "example.org"],
)
def test_real_domains_and_exact_providers_get_no_hint(domain: str) -> None:
    assert suggest_domain(domain) is None


def test_edit_distance_counts_transpositions_as_one() -> None:
    assert edit_distance("gmial", "gmail") == 1
    assert edit_distance("hotmial", "hotmail") == 1
    assert edit_distance("acme", "me") == 2
    assert edit_distance("", "abc") == 3
    assert edit_distance("same", "same") == 0


def test_normalize_email_keeps_plus_addressing() -> None:
    assert normalize_email("Jo+Tag@Acme.com") == "jo+tag@acme.com"
