"""The CSV format of Import customers (``customers.imports``): every file-level refusal and
row-level error has a clear message, and the result file is safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io

import pytest

from customers.imports import (
    MAX_ROWS,
    ImportFileRefused,
    csv_safe,
    import_rows_parse,
    result_csv,
)


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def _refused(data: bytes) -> str:
    with pytest.raises(ImportFileRefused) as caught:
        import_rows_parse(data)
    return caught.value.messages[0]


def test_a_good_file_gives_checked_rows() -> None:
    rows = import_rows_parse(
        "\ufeffExternal ID,Name,Region,Status,Labels,Metadata\n"
        'crm-1,Northwind,EU,active,env:prod;tier:gold,"{""crm"": 1}"\n'
        "\n"
        "crm-2,Contoso,,,,\n".encode()
    )
    assert [row["line"] for row in rows] == [2, 4]
    first, second = rows
    assert first == {
        "line": 2,
        "external_id": "crm-1",
        "name": "Northwind",
        "region": "eu",
        "status": "active",
        "labels": {"env": "prod", "tier": "gold"},
        "metadata": {"crm": 1},
        "errors": [],
    }
    assert second["region"] == "" and second["labels"] == {} and second["errors"] == []


def test_columns_left_out_are_left_alone() -> None:
    [row] = import_rows_parse(_csv("external_id,name", "crm-1,Northwind"))
    assert row["labels"] is None and row["metadata"] is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "The file is empty"),
        (_csv("id,name", "1,A"), "Unknown column “id” in the header"),
        (_csv("name,region", "A,us"), "The header has no external_id column"),
        (_csv("external_id,name,name", "1,A,B"), "The header names name more than once"),
        (_csv("external_id,name"), "a header but no rows"),
    ],
)
def test_a_wrong_header_or_an_empty_file_is_refused_whole(data: bytes, expected: str) -> None:
    assert expected in _refused(data)


def test_invalid_utf8_names_the_line() -> None:
    data = _csv("external_id,name", "crm-1,Northwind").replace(b"\n", b"\ncrm-0,Caf\xe9\n", 1)
    message = _refused(data)
    assert "not UTF-8 text: line 2 holds the byte 0xe9" in message
    assert "CSV UTF-8" in message


def test_a_file_over_10_mb_is_refused() -> None:
    assert "The file is 10.0 MB; an import takes at most 10 MB" in _refused(
        b"external_id,name\n" + b"x" * (10 * 1024 * 1024)
    )


def test_nul_bytes_are_refused() -> None:
    assert "NUL bytes" in _refused(b"external_id,name\n1,A\x00\n")


def test_fifty_thousand_rows_are_refused_with_the_count() -> None:
    data = _csv("external_id,name", *(f"crm-{n},Customer {n}" for n in range(50_000)))
    message = _refused(data)
    assert f"The file has 50,000 rows; one import takes at most {MAX_ROWS:,}" in message


def test_duplicate_external_ids_flag_every_occurrence() -> None:
    rows = import_rows_parse(_csv("external_id,name", "a,One", "b,Two", "a,Three"))
    assert rows[0]["errors"] == [
        "external_id “a” is also on line 4: each external ID may appear once, so none of "
        "these rows is imported."
    ]
    assert "also on line 2" in rows[2]["errors"][0]
    assert rows[1]["errors"] == []


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://x")', "@SUM(A1)", "+cmd", "-2+3|calc"])
def test_a_formula_in_a_cell_is_a_row_error(cell: str) -> None:
    out = io.StringIO()
    csv.writer(out).writerows([["external_id", "name"], ["crm-1", cell]])
    [row] = import_rows_parse(out.getvalue().encode())
    [error] = row["errors"]
    assert f"name starts with “{cell[0]}”, so a spreadsheet would run it as a formula" in error


def test_signed_numbers_are_not_formulas() -> None:
    [row] = import_rows_parse(_csv("external_id,name", "-42,+44 20 7946 0000"))
    assert row["errors"] == []


def test_row_errors_are_listed_per_row() -> None:
    rows = import_rows_parse(
        _csv(
            "external_id,name,region,status,labels,metadata",
            ",No id,mars,gone,my env:prod,[1]",
            "ok,Fine,us,active,,",
            "x,Too many,us,active,,,extra",
        )
    )
    errors = rows[0]["errors"]
    assert "external_id is empty." in errors
    assert any("region “mars” is not one of us, eu, apac" in e for e in errors)
    assert any("status “gone” is not one of" in e for e in errors)
    assert any("“my env” contains a space" in e for e in errors)
    assert any("Metadata must be a JSON object" in e for e in errors)
    assert rows[1]["errors"] == []
    assert rows[2]["errors"] == ["The line has 7 cells; the header names 6 columns."]


def test_a_quoted_cell_over_several_lines_keeps_the_line_it_starts_on() -> None:
    rows = import_rows_parse(b'external_id,name,metadata\na,A,"{\n""k"": 1\n}"\nb,B,\n')
    assert [(row["line"], row["errors"]) for row in rows] == [(2, []), (5, [])]


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@x", "\tx", "\rx"])
def test_result_cells_that_could_run_as_formulas_are_neutralised(value: str) -> None:
    assert csv_safe(value) == "'" + value
    assert csv_safe("Northwind") == "Northwind"


def test_the_result_file_lists_every_row_with_its_outcome() -> None:
    rows = [
        {
            "line": 2,
            "external_id": "a",
            "name": "A",
            "errors": [],
            "outcome": "created",
            "customer_id": "c-1",
            "message": "",
        },
        {"line": 3, "external_id": "b", "name": "=cmd()", "errors": ["name starts with “=”"]},
    ]
    read = list(csv.reader(io.StringIO(result_csv(rows))))
    assert read == [
        ["line", "external_id", "name", "outcome", "customer_id", "message"],
        ["2", "a", "A", "created", "c-1", ""],
        ["3", "b", "'=cmd()", "skipped", "", "name starts with “=”"],
    ]
