"""Plain-text rendering of SDK versions for `erp sdk build | show | check` (never cut to the terminal)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from erp_platform.sdks import OperationDecisions, SdkCheckReport, SdkVersionInfo

_NOTE_WIDTH = 110


def _cell(values: list[str], width: int) -> str:
    return "  ".join(v.ljust(width) for v in values)


def decisions_table(decisions: tuple[OperationDecisions, ...], *, evidence: bool = True) -> list[str]:
    """One row per list operation (operation, selector, paging, key, incremental), evidence below it."""
    if not decisions:
        return ["  no list operations"]
    header = ("operation", "selector", "paging", "key", "incremental")
    rows = [
        (d.operation, d.selector, d.paging, " + ".join(d.primary_key) or "-", d.incremental or "-")
        for d in decisions
    ]
    widths = [min(max(len(r[i]) for r in [header, *rows]), 44) for i in range(len(header))]
    lines = ["  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    for decision, row in zip(decisions, rows, strict=True):
        lines.append("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
        if evidence:
            ev = decision.evidence
            for label, item in (("selector", ev.selector), ("paging", ev.paging), ("key", ev.primary_key),
                                ("incremental", ev.incremental)):
                if item.evidence:
                    marker = " [override]" if item.source.value == "override" else ""
                    lines.append(f"      {label}{marker}: {item.evidence[:_NOTE_WIDTH * 2]}")
    return lines


def build_summary(info: SdkVersionInfo, tenant: str) -> list[str]:
    """What `erp sdk build` prints after the version's fields: base URL, credentials, tests, decisions."""
    lines = [f"base URL: {info.base_url} ({info.base_url_evidence or 'from the spec'})"]
    if info.unchanged:
        lines.insert(0, f"unchanged: version {info.version} was built from the same spec and options "
                        f"({info.status}); nothing registered")
    if info.credentials:
        lines.append(f"credentials the SDK needs, bound to SDK {info.name} (set each before activating; only this "
                     f"SDK sends them, to {_origin(info.base_url)} only):")
        for cred in info.credentials:
            lines.append(f"  {cred.name}: {cred.location.value} {cred.wire_name} - {cred.purpose}")
            lines.append(f"      {cred.command(tenant, info.name)}")
    else:
        lines.append("credentials the SDK needs: none (the spec declares no supported auth scheme or header)")
    if info.test_results is not None:
        report = info.test_results
        if report.target == "sample_responses":
            lines.append(
                f"tests: {len(report.results)} GET operations ran through the WebAssembly SDK against sample "
                "responses built from the spec; no live call to the ERP was made (check one with "
                f"`erp sdk check {tenant} {info.name} [OPERATION]`)"
            )
        else:
            lines.append(f"tests: {len(report.results)} GET operations ran against the built-in mock ERP")
    if info.overrides:
        lines.append("overrides: " + ", ".join(info.overrides))
    lines.append(f"list operations ({len(info.decisions)}): selector, paging, primary key, incremental")
    lines.extend(decisions_table(info.decisions))
    return lines


def check_lines(report: SdkCheckReport) -> list[str]:
    """What `erp sdk check` prints."""
    lines = [
        f"live check of {report.operation} (SDK {report.sdk} v{report.version} of tenant {report.tenant})",
        f"  base URL   {report.base_url}",
        f"  selector   {report.selector}",
        f"  paging     {report.paging}",
    ]
    if report.status is not None:
        lines += [
            f"  status     HTTP {report.status}, {report.requests} request(s), {report.milliseconds:.0f} ms",
            f"  records    {report.records}" + (f" (fields: {', '.join(report.fields[:12])}"
                                                 + (" ..." if len(report.fields) > 12 else "") + ")"
                                                 if report.fields else ""),
            f"  next page  {report.next}",
        ]
    for problem in report.problems:
        lines.append(f"  problem: {problem}")
    lines.append("  result: " + ("ok" if report.ok else f"{len(report.problems)} problem(s)"))
    return lines


def _origin(base_url: str) -> str:
    """``scheme://host:port`` of the base URL: where the SDK's credentials may go."""
    from erp_platform.sandbox import origin_of, origin_text

    return origin_text(origin_of(base_url))
