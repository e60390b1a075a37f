"""Building guests with componentize-py: content-hash cache, concurrent builds, clear build errors."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from erp_platform.sandbox import ComponentBuildError, _compile, compile_component, component_hash
from tests.sandbox.conftest import CONNECTOR_SOURCES

MINIMAL = '''import wit_world


class WitWorld(wit_world.WitWorld):
    def describe(self) -> str:
        return "{}"

    def execute(self, operation: str, params_json: str) -> str:
        return "{}"
'''


@pytest.mark.parametrize(
    ("sources", "entry", "message"),
    [
        ({}, "guest", "no guest sources given; pass {'guest.py': source, ...}"),
        ({"guest.py": MINIMAL}, "main", "entry module 'main' is not among the guest files (guest.py)"),
        ({"../guest.py": MINIMAL}, "guest", "guest file name '../guest.py' is not a Python module file name "
         "like 'guest.py'"),
        ({"guest.txt": MINIMAL}, "guest", "guest file name 'guest.txt' is not a Python module file name like "
         "'guest.py'"),
        ({"class.py": MINIMAL}, "class", "guest file name 'class.py' is not a Python module file name like "
         "'guest.py'"),
        ({"wit_world.py": MINIMAL}, "wit_world", "guest file name 'wit_world.py' is reserved by "
         "componentize-py; rename it"),
        ({"guest.py": "import wit_world\n\nclass WitWorld(wit_world.WitWorld)\n    pass\n"}, "guest",
         "guest.py line 3, column 35: expected ':'; fix the guest source"),
        ({"guest.py": MINIMAL, "helpers.py": "def f(:\n    pass\n"}, "guest",
         "helpers.py line 1, column 7: invalid syntax; fix the guest source"),
        ({"guest.py": "x = 1\x00\n"}, "guest", "guest.py: source code string cannot contain null bytes; fix "
         "the guest source"),
    ],
)
def test_bad_sources_are_refused_before_building(
    tmp_path: Path, sources: dict[str, str], entry: str, message: str
) -> None:
    with pytest.raises(ComponentBuildError) as caught:
        compile_component(sources, entry=entry, cache_dir=tmp_path)
    assert str(caught.value) == message
    assert not (tmp_path / "components").exists() or not any((tmp_path / "components").glob("*.wasm"))


def test_a_build_time_error_names_the_guest_file_and_line(tmp_path: Path) -> None:
    preamble = "import json\nimport wit_world\n\nSETTINGS = json.loads('{}')\nTIMEOUT = SETTINGS['timeout']\n"
    source = MINIMAL.replace("import wit_world\n", preamble)
    with pytest.raises(ComponentBuildError) as caught:
        compile_component({"guest.py": source}, entry="guest", cache_dir=tmp_path)
    assert str(caught.value) == (
        "componentize-py could not build guest 'guest': guest.py line 5: KeyError: 'timeout'; the guest's "
        "top-level code runs at build time, so it may only import the standard library and its own modules"
    )
    assert list((tmp_path / "components").glob("*.wasm")) == []


def test_the_hash_covers_sources_entry_and_tooling() -> None:
    base = component_hash({"a.py": "x = 1\n", "b.py": "y = 2\n"}, "a")
    assert component_hash({"b.py": "y = 2\n", "a.py": "x = 1\n"}, "a") == base
    assert component_hash({"a.py": "x = 1\n", "b.py": "y = 3\n"}, "a") != base
    assert component_hash({"a.py": "x = 1\n", "b.py": "y = 2\n"}, "b") != base
    assert component_hash({"a.py": "x = 1\n", "c.py": "y = 2\n"}, "a") != base
    assert len(base) == 64


def test_cached_components_are_not_rebuilt(
    connector_wasm: Path, wasm_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("componentize-py ran for a cached component")

    monkeypatch.setattr(_compile, "_run_componentize", refuse)
    again = compile_component(CONNECTOR_SOURCES, entry="erp_connector", cache_dir=wasm_cache)
    assert again == connector_wasm
    assert again.name == component_hash(CONNECTOR_SOURCES, "erp_connector") + ".wasm"


def test_concurrent_builds_of_the_same_sources_build_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = _compile._run_componentize
    runs: list[str] = []

    def counting(entry: str, **kwargs: object) -> None:
        runs.append(entry)
        real(entry, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_compile, "_run_componentize", counting)
    results: list[Path] = []
    errors: list[BaseException] = []

    def build() -> None:
        try:
            results.append(compile_component({"guest.py": MINIMAL}, entry="guest", cache_dir=tmp_path))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(results)) == 1
    assert runs == ["guest"]
    built = results[0]
    assert built.read_bytes()[:4] == b"\0asm"
    assert built.stat().st_size > 1_000_000
    leftovers = [p.name for p in (tmp_path / "components").iterdir() if p.suffix not in (".wasm", ".lock")]
    assert leftovers == []
