"""Static security scan (``ast``) of SDK code before anything compiles or imports it.

Usable on generated code and on hand-written or AI-written guests: only allow-listed imports, no dynamic
code execution, no reflection that reaches interpreter internals (dunder attributes, frames, globals),
no ``str.format`` (it reads attributes from a format string), no ``global``/``nonlocal``.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from sdk_builder._errors import ScanRefused


class ScanProfile(StrEnum):
    """Which allow-list applies: guest code (runs in the sandbox) or the host-side facade."""

    GUEST = "guest"
    FACADE = "facade"


_COMMON_IMPORTS = frozenset({
    "json", "re", "datetime", "math", "urllib.parse", "base64", "typing", "collections", "collections.abc",
    "itertools", "functools", "string",
})
ALLOWED_IMPORTS: dict[ScanProfile, frozenset[str]] = {
    ScanProfile.GUEST: _COMMON_IMPORTS | {
        "wit_world", "wit_world.imports", "wit_world.imports.host", "componentize_py_types", "_erp_runtime",
    },
    ScanProfile.FACADE: _COMMON_IMPORTS | {"pydantic", "decimal", "enum"},
}
#: Builtins that execute code, reach the interpreter's namespaces or do I/O.
FORBIDDEN_NAMES = frozenset({
    "eval", "exec", "compile", "__import__", "open", "globals", "locals", "vars", "getattr", "setattr",
    "delattr", "breakpoint", "input", "help", "exit", "quit", "memoryview", "__builtins__", "__loader__",
    "__spec__",
})
#: Attributes that reach frames, code objects or evaluate strings as code, though not dunders.
FORBIDDEN_ATTRIBUTES = frozenset({
    "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code", "f_globals", "f_locals",
    "f_builtins",
    "f_back", "f_code", "tb_frame", "tb_next", "co_code", "format", "format_map", "Formatter",
    "get_type_hints", "ForwardRef", "evaluate_forward_ref", "system", "popen", "import_module",
})


class ScanFinding(BaseModel):
    """One refused construct: where it is and which rule it breaks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str
    line: int
    col: int
    rule: str
    message: str

    def render(self) -> str:
        """``guest.py line 3, col 0: [import-not-allowed] ...``"""
        return f"{self.file} line {self.line}, col {self.col}: [{self.rule}] {self.message}"


class ScanReport(BaseModel):
    """The result of a scan: ``passed`` is True only when there is no finding."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    passed: bool
    profile: ScanProfile
    files: tuple[str, ...]
    findings: tuple[ScanFinding, ...] = ()

    def refusal_message(self) -> str:
        """A message naming every finding's file, line and rule (empty when the scan passed)."""
        if self.passed:
            return ""
        count = len(self.findings)
        shown = "\n".join(f"  - {f.render()}" for f in self.findings[:50])
        more = f"\n  ... and {count - 50} more" if count > 50 else ""
        return (
            f"security scan ({self.profile.value}) refused the code: "
            f"{count} finding{'s' if count != 1 else ''}\n{shown}{more}\n"
            "Remove these constructs; SDK code may only use the allow-listed standard modules."
        )

    def raise_if_failed(self) -> None:
        """Raise :class:`ScanRefused` with :meth:`refusal_message` unless the scan passed."""
        if not self.passed:
            raise ScanRefused(self.refusal_message())


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


class _Visitor(ast.NodeVisitor):
    def __init__(self, file: str, allowed: frozenset[str]) -> None:
        self.file = file
        self.allowed = allowed
        self.findings: list[ScanFinding] = []
        self._class_depth = 0

    def add(self, node: ast.AST, rule: str, message: str) -> None:
        self.findings.append(
            ScanFinding(
                file=self.file, line=getattr(node, "lineno", 0), col=getattr(node, "col_offset", 0),
                rule=rule, message=message,
            )
        )

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name not in self.allowed:
                self.add(node, "import-not-allowed", f"import of module '{alias.name}' is not allowed")
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level:
            self.add(
                node, "relative-import", "relative imports are not allowed; import sibling modules by name"
            )
        elif module not in self.allowed and not all(f"{module}.{a.name}" in self.allowed for a in node.names):
            self.add(node, "import-not-allowed", f"import from module '{module}' is not allowed")
        for alias in node.names:
            if alias.name == "*":
                self.add(
                    node, "star-import", f"'from {module} import *' is not allowed; import names explicitly"
                )
            elif _is_dunder(alias.name):
                self.add(node, "dunder-name", f"importing '{alias.name}' is not allowed")
            elif alias.name in FORBIDDEN_ATTRIBUTES or alias.name in FORBIDDEN_NAMES:
                self.add(
                    node, "forbidden-attribute", f"importing '{alias.name}' from '{module}' is not allowed"
                )
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in FORBIDDEN_NAMES:
            self.add(node, "forbidden-name", f"use of '{node.id}' is not allowed")
        elif _is_dunder(node.id):
            self.add(node, "dunder-name", f"dunder name '{node.id}' is not allowed")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if _is_dunder(node.attr):
            self.add(node, "dunder-attribute", f"access to dunder attribute '.{node.attr}' is not allowed")
        elif node.attr in FORBIDDEN_ATTRIBUTES:
            self.add(node, "forbidden-attribute", f"access to attribute '.{node.attr}' is not allowed")
        self.generic_visit(node)

    def visit_MatchClass(self, node: ast.MatchClass) -> None:
        for attr in node.kwd_attrs:
            if _is_dunder(attr) or attr in FORBIDDEN_ATTRIBUTES:
                self.add(node, "dunder-attribute", f"pattern on attribute '{attr}' is not allowed")
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        self.add(node, "global-statement", "'global' statements are not allowed; pass state explicitly")
        self.generic_visit(node)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.add(node, "global-statement", "'nonlocal' statements are not allowed; pass state explicitly")
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if _is_dunder(node.name):
            self.add(node, "dunder-name", f"class name '{node.name}' is not allowed")
        self._class_depth += 1
        self.generic_visit(node)
        self._class_depth -= 1

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if _is_dunder(node.name) and self._class_depth == 0:
            self.add(node, "dunder-name", f"module-level function '{node.name}' is not allowed")
        depth, self._class_depth = self._class_depth, 0
        self.generic_visit(node)
        self._class_depth = depth

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._function(node)

    def visit_arg(self, node: ast.arg) -> None:
        if _is_dunder(node.arg):
            self.add(node, "dunder-name", f"dunder parameter '{node.arg}' is not allowed")
        self.generic_visit(node)

    def visit_keyword(self, node: ast.keyword) -> None:
        if node.arg is not None and _is_dunder(node.arg):
            self.add(node, "dunder-name", f"dunder keyword argument '{node.arg}' is not allowed")
        self.generic_visit(node)


def _module_name(filename: str) -> str:
    return filename.rsplit("/", 1)[-1].removesuffix(".py")


def scan(files: Mapping[str, str], *, profile: ScanProfile = ScanProfile.GUEST) -> ScanReport:
    """Scan Python sources (file name -> text) and report every refused construct with file and line.

    Modules of the same file set may import each other by name (a multi-file guest); everything else
    must be on the profile's allow-list. Syntax errors are findings too.
    """
    allowed = ALLOWED_IMPORTS[profile] | {_module_name(name) for name in files}
    findings: list[ScanFinding] = []
    for name in sorted(files):
        try:
            tree = ast.parse(files[name], filename=name)
        except SyntaxError as exc:
            findings.append(
                ScanFinding(file=name, line=exc.lineno or 0, col=max((exc.offset or 1) - 1, 0),
                            rule="syntax-error", message=f"the file does not parse: {exc.msg}")
            )
            continue
        except (ValueError, RecursionError, MemoryError) as exc:
            findings.append(
                ScanFinding(file=name, line=0, col=0, rule="syntax-error",
                            message=f"the file cannot be parsed: {type(exc).__name__}")
            )
            continue
        visitor = _Visitor(name, allowed)
        visitor.visit(tree)
        findings.extend(visitor.findings)
    return ScanReport(
        passed=not findings, profile=profile, files=tuple(sorted(files)), findings=tuple(findings)
    )
