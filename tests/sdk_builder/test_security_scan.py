"""The security scan refuses hostile guests (hand-written or AI-written) with file, line and rule."""

from __future__ import annotations

from typing import Any

import pytest

from sdk_builder import ScanProfile, ScanRefused, scan

HEADER = "import json\nfrom wit_world.imports import host\n\n"

# (name, guest source after HEADER, expected (line, rule) of the findings). Lines count the 3 header lines.
HOSTILE = [
    ("os", "import os\n", [(4, "import-not-allowed")]),
    ("subprocess-from", "from subprocess import run\n", [(4, "import-not-allowed")]),
    ("socket-alias", "import json as j, socket as s\n", [(4, "import-not-allowed")]),
    ("importlib", "import importlib\nm = importlib.import_module('os')\n",
     [(4, "import-not-allowed"), (5, "forbidden-attribute")]),
    ("dunder-import", "os = __import__('os')\n", [(4, "forbidden-name")]),
    ("eval", "x = eval('1+1')\n", [(4, "forbidden-name")]),
    ("exec", "def f():\n    exec('import os')\n", [(5, "forbidden-name")]),
    ("compile", "code = compile('1', 'x', 'eval')\n", [(4, "forbidden-name")]),
    ("open", "data = open('/etc/passwd').read()\n", [(4, "forbidden-name")]),
    ("alias-of-eval", "run = eval\n", [(4, "forbidden-name")]),
    ("getattr", "f = getattr(json, 'loads')\n", [(4, "forbidden-name")]),
    ("setattr", "setattr(host, 'send', None)\n", [(4, "forbidden-name")]),
    ("globals", "g = globals()['json']\n", [(4, "forbidden-name")]),
    ("vars", "v = vars(json)\n", [(4, "forbidden-name")]),
    ("builtins-name", "b = __builtins__\n", [(4, "forbidden-name")]),
    ("subclasses", "classes = ().__class__.__base__.__subclasses__()\n",
     [(4, "dunder-attribute"), (4, "dunder-attribute"), (4, "dunder-attribute")]),
    ("function-globals", "def f():\n    pass\n\n\nleak = f.__globals__\n", [(8, "dunder-attribute")]),
    ("frame-walk", "g = (i for i in [])\nframe = g.gi_frame.f_back\n",
     [(5, "forbidden-attribute"), (5, "forbidden-attribute")]),
    ("format-string", "text = '{0.__class__}'.format(1)\n", [(4, "forbidden-attribute")]),
    ("type-hints-import", "from typing import get_type_hints\n", [(4, "forbidden-attribute")]),
    ("typing-get-type-hints", "import typing\nh = "
                              "typing.get_type_hints(json)\n", [(5, "forbidden-attribute")]),
    ("global", "count = 0\n\n\ndef bump():\n    global count\n    count += 1\n", [(8, "global-statement")]),
    ("nonlocal", "def outer():\n    n = 0\n\n    def inner():\n        nonlocal "
                 "n\n", [(8, "global-statement")]),
    ("star-import", "from json import *\n", [(4, "star-import")]),
    ("relative-import", "from . import sibling\n", [(4, "relative-import")]),
    ("dunder-name-main", "if __name__ == '__main__':\n    pass\n", [(4, "dunder-name")]),
    ("module-dunder-getattr", "def __getattr__(name):\n    return name\n", [(4, "dunder-name")]),
    ("match-class-dunder", "match 1:\n    case int(__class__=c):\n        pass\n", [(5, "dunder-attribute")]),
    ("breakpoint", "breakpoint()\n", [(4, "forbidden-name")]),
    ("input", "name = input()\n", [(4, "forbidden-name")]),
    ("syntax-error", "def broken(:\n", [(4, "syntax-error")]),
    ("dunder-keyword", "f = dict(__class__=1)\n", [(4, "dunder-name")]),
]


@pytest.mark.parametrize(("name", "body", "expected"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_guests_are_refused(name: str, body: str, expected: list[tuple[int, str]]) -> None:
    report = scan({"guest.py": HEADER + body})
    assert not report.passed
    assert [(f.line, f.rule) for f in report.findings] == expected
    assert all(f.file == "guest.py" for f in report.findings)
    with pytest.raises(ScanRefused) as caught:
        report.raise_if_failed()
    first = report.findings[0]
    assert f"guest.py line {first.line}, col {first.col}: [{first.rule}]" in str(caught.value)


def test_refusal_message_is_exact() -> None:
    report = scan({"guest.py": HEADER + "import os\nx = eval('1')\n", "_erp_runtime.py": "import json\n"})
    assert report.refusal_message() == (
        "security scan (guest) refused the code: 2 findings\n"
        "  - guest.py line 4, col 0: [import-not-allowed] import of module 'os' is not allowed\n"
        "  - guest.py line 5, col 4: [forbidden-name] use of 'eval' is not allowed\n"
        "Remove these constructs; SDK code may only use the allow-listed standard modules."
    )
    assert report.files == ("_erp_runtime.py", "guest.py")


def test_clean_hand_written_guest_passes() -> None:
    source = (
        "import json\nimport re\nfrom urllib.parse import quote\nfrom urllib import parse\n"
        "import wit_world\nfrom wit_world.imports import host\nfrom componentize_py_types import Err\n"
        "import helpers\n\n\n"
        "class WitWorld(wit_world.WitWorld):\n"
        "    def __init__(self) -> None:\n        self.n = 0\n\n"
        "    def describe(self) -> str:\n        return "
        "json.dumps({'name': 'x', 'note': '__import__ in text'})\n\n"
        "    def execute(self, operation: str, params_json: str) -> str:\n"
        "        raise Err(quote(operation) + helpers.X + f'{self.n:>4}')\n"
    )
    report = scan({"app.py": source, "helpers.py": "X = 'y'\n"})
    assert report.passed and report.findings == () and report.refusal_message() == ""


def test_facade_profile_allows_pydantic_but_not_wit_world() -> None:
    facade = "import decimal\nfrom pydantic import BaseModel\nimport wit_world\n"
    report = scan({"facade.py": facade}, profile=ScanProfile.FACADE)
    assert [(f.line, f.message) for f in report.findings] == [(3, "import of module 'wit_world' is not "
                                                                  "allowed")]
    guest = scan({"guest.py": "from pydantic import BaseModel\n"})
    assert [f.message for f in guest.findings] == ["import from module 'pydantic' is not allowed"]


def test_generated_code_passes(real_sdks: Any) -> None:
    for sdk in real_sdks.values():
        assert sdk.guest_scan.passed and sdk.facade_scan.passed
        assert sdk.guest_scan.files == ("_erp_runtime.py", "guest.py")
        assert scan(sdk.files).passed
        for name, source in {**sdk.files, "facade.py": sdk.facade}.items():
            compile(source, name, "exec")
