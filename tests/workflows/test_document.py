"""Reading YAML/JSON documents: syntax errors name the file, line and column; YAML 1.2 core scalars."""

from __future__ import annotations

import pytest

from erp_platform.workflows import DocumentSyntaxError, load_document, parse_definition


@pytest.mark.parametrize(
    ("filename", "text", "expected"),
    [
        ("flow.yaml", "id: x\nactivities: [1, 2\nsteps: []\n",
         "flow.yaml, line 3, column 6: invalid YAML: expected ',' or ']', but got ':' (while parsing a "
         "flow sequence that starts on line 2)"),
        ("indent.yaml", "id: x\n  activities: []\n",
         "indent.yaml, line 2, column 13: invalid YAML: mapping values are not allowed here; check the "
         "indentation, and quote values that contain ': '"),
        ("tabs.yaml", "id: x\n\tactivities: []\n",
         "tabs.yaml, line 2, column 1: invalid YAML: found character '\\t' that cannot start any token "
         "(while scanning for the next token); YAML indentation must use spaces, not tabs"),
        ("dup.yaml", "id: a\ndescription: x\nid: b\n",
         "dup.yaml, line 3, column 1: invalid YAML: duplicate key 'id' (first defined on line 1): keep "
         "only one"),
        ("alias.yaml", "retry: &r {max_attempts: 2}\nother: *r\n",
         "alias.yaml, line 2, column 8: invalid YAML: YAML aliases (*name) are not supported: write the "
         "value out in full"),
        ("two.yaml", "id: a\n---\nid: b\n",
         "two.yaml, line 2, column 1: invalid YAML: expected a single document in the stream, but found "
         "another document; put one definition per file (remove the '---' separator)"),
        ("list.yaml", "- id: a\n",
         "list.yaml: a workflow definition must be a mapping (key: value pairs) at the top level; this "
         "file is a list"),
        ("empty.yaml", "# nothing\n",
         "empty.yaml: a workflow definition must be a mapping (key: value pairs) at the top level; this "
         "file is empty"),
        ("comma.json", '{"id": "a",\n "steps": [],\n}',
         "comma.json, line 3, column 1: invalid JSON: Expecting property name enclosed in double quotes"),
        ("dup.json", '{"id": "a", "id": "b"}',
         "dup.json: invalid JSON: duplicate key 'id' in one object: keep only one"),
        ("latin1.yaml", b"id: caf\xe9\n",
         "latin1.yaml: the file is not UTF-8 text (byte 0xe9 at offset 7): save it as UTF-8"),
    ],
)
def test_syntax_errors_name_file_line_and_column(filename: str, text: str | bytes, expected: str) -> None:
    with pytest.raises(DocumentSyntaxError) as info:
        parse_definition(text, filename=filename)
    assert str(info.value) == expected


def test_too_large_document_is_refused() -> None:
    with pytest.raises(DocumentSyntaxError) as info:
        load_document("x: " + "a" * (1024 * 1024), filename="big.yaml")
    assert str(info.value) == (
        "big.yaml: the file is 1,048,579 bytes; the limit is 1,048,576: split it into smaller files"
    )


def test_yaml_uses_the_core_schema_like_json() -> None:
    text = (
        "on: {a: b}\nyes: no\ncountry: NO\nwhen: 2026-01-31\noctal_like: 010\nhex: 0x1f\nexp: 1e3\n"
        "nothing: ~\nflag: true\nword: True\nspecial: .inf\n"
    )
    data = load_document(text, filename="core.yaml")
    assert data == {
        "on": {"a": "b"},
        "yes": "no",
        "country": "NO",
        "when": "2026-01-31",
        "octal_like": 10,
        "hex": 31,
        "exp": 1000.0,
        "nothing": None,
        "flag": True,
        "word": True,
        "special": float("inf"),
    }


def test_suffix_decides_the_format_and_content_decides_otherwise() -> None:
    assert load_document('{"a": 1}', filename="x.txt") == {"a": 1}
    assert load_document("a: 1", filename="x.txt") == {"a": 1}
    assert load_document(b"\xef\xbb\xbfa: 1\n", filename="bom.yml") == {"a": 1}
    with pytest.raises(DocumentSyntaxError) as info:
        load_document("a: 1", filename="x.json")
    assert str(info.value) == "x.json, line 1, column 1: invalid JSON: Expecting value"
