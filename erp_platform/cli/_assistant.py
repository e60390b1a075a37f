"""``erp assistant ...``: the AI assistant in the terminal: chat, one-shot drafts, the offline mapper,
drafts and their activation, rollback, the AI off switch and the sample-sharing opt-in.

Drafts are DRAFT versions: nothing runs until a person activates one (`erp assistant activate`, `erp
workflow activate`, or the web page's button). Without an AI provider key, or with the AI switched off,
the offline assistant answers the common requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

from erp_platform.cli._app import app
from erp_platform.cli._output import console, echo, platform, print_json, print_table

if TYPE_CHECKING:
    from pathlib import Path

    from assistant import Assistant, DraftInfo, MappingProposal, TurnResult, WebServer
    from erp_platform._platform import Platform
    from erp_platform.sdks import SdkVersionInfo

assistant_app = typer.Typer(
    help="AI assistant: drafts workflows and mappings (never activates them); works offline too.",
    no_args_is_help=True,
)
app.add_typer(assistant_app, name="assistant")

JSON = typer.Option(False, "--json", help="print the result as JSON")
OFFLINE = typer.Option(False, "--offline", help="answer without the AI provider (offline mapper and intents)")


def _assistant(plat: Any) -> Assistant:
    """The assistant, imported on use (it pulls in Dagster, polars and wasmtime: keep `erp --help` fast)."""
    from assistant import Assistant

    return Assistant.from_platform(plat)


# -- rendering ----------------------------------------------------------------------------------------------
def show_draft(draft: DraftInfo) -> None:
    """The draft with rich: changes, problems, asset graph, triggers, dry-run rows and the diff."""
    from rich.panel import Panel
    from rich.syntax import Syntax
    from rich.table import Table
    from rich.text import Text
    from rich.tree import Tree

    report = draft.report
    title = (f"draft #{draft.id}: {draft.workflow_id} v{draft.version} (DRAFT)" if draft.status == "VALID"
             else f"draft #{draft.id}: {draft.workflow_id} (INVALID, stage {report.get('stage')})")
    lines = [f"- {c}" for c in report.get("changes", [])] + [f"note: {n}" for n in report.get("notes", [])]
    lines += [f"problem: {p['path']}: {p['message']}" for p in report.get("problems", [])]
    style = "green" if draft.status == "VALID" else "red"
    console.print(Panel(Text("\n".join(lines) or "-"), title=Text(title), border_style=style))
    compiled = report.get("compiled")
    if compiled:
        tree = Tree(Text(f"job {compiled['job']}"))
        for node in compiled["assets"]:
            deps = f" <- {', '.join(d.rsplit('/', 1)[-1] for d in node['deps'])}" if node["deps"] else ""
            checks = f" [checks: {', '.join(node['checks'])}]" if node["checks"] else ""
            tree.add(Text(f"{node['activity']} ({node['kind']}){deps}{checks}"))
        for schedule in compiled["schedules"]:
            tree.add(Text(f"schedule {schedule['cron']} ({schedule['timezone']})"))
        for sensor in compiled["sensors"]:
            tree.add(Text(f"sensor {sensor['name']} every {sensor['interval_seconds']} s"))
        console.print(tree)
    dry = report.get("dry_run")
    if dry:
        for extract in dry["extracts"]:
            console.print(f"dry run: {extract['operation']} returned {extract['records']} records (first page)")
        for load in dry["loads"]:
            table = Table(title=Text(f"{load['table']}: {load['row_count']} rows would be merged (nothing written)"))
            for column in load["columns"]:
                table.add_column(column)
            for row in load["rows"][:5]:
                table.add_row(*("" if v is None else str(v) for v in row))
            console.print(table)
    if draft.diff:
        console.print(Syntax(draft.diff, "diff", word_wrap=True))


def _show_turn(turn: TurnResult, as_json: bool) -> None:
    if as_json:
        print_json(turn)
        return
    if turn.reply:
        console.print(turn.reply, markup=False, highlight=False)
    if turn.draft is not None:
        show_draft(turn.draft)
    console.print(turn.status, style="bold", markup=False)


def _show_mapping(proposal: MappingProposal, as_json: bool) -> None:
    if as_json:
        print_json(proposal)
        return
    where = "new table" if proposal.new_table else "existing table"
    print_table(f"{proposal.sdk}.{proposal.operation} ({proposal.entity}) -> {proposal.table} ({where})",
                ["field", "column", "type", "key", "confidence", "reason"],
                [[c.source, c.target, c.type, "yes" if c.key else "", f"{c.confidence:.2f}", c.reason]
                 for c in proposal.columns])
    if proposal.unmapped_fields and not proposal.new_table:
        console.print(f"fields not mapped: {', '.join(proposal.unmapped_fields)}", markup=False)
    if proposal.unmapped_columns:
        console.print(f"columns without a source: {', '.join(proposal.unmapped_columns)}", markup=False)


# -- commands -----------------------------------------------------------------------------------------------
@assistant_app.command("draft")
def draft(
    tenant: str,
    text: str = typer.Argument(..., help='what the workflow should do, e.g. "sync customers into crm every hour"'),
    conversation: str | None = typer.Option(None, "--conversation", help="continue this conversation"),
    offline: bool = OFFLINE,
    as_json: bool = JSON,
) -> None:
    """One request -> a validated, compiled, dry-run DRAFT version (never activated)."""
    with platform() as plat:
        assistant = _assistant(plat)
        if conversation is None:
            turn = assistant.draft(tenant, text, offline=offline)
        else:
            turn = assistant.send(tenant, conversation, text, offline=offline)
    _show_turn(turn, as_json)
    if turn.draft is None or turn.draft.status != "VALID":
        raise typer.Exit(1)


@assistant_app.command("chat")
def chat(
    tenant: str,
    conversation: str | None = typer.Option(None, "--conversation", help="continue this conversation"),
    offline: bool = OFFLINE,
) -> None:
    """A terminal chat: each answer shows the draft, its asset graph, dry-run rows and diff.
    Type /activate to activate the last valid draft, /offline to toggle the offline mode, /quit to leave."""
    with platform() as plat:
        assistant = _assistant(plat)
        conv = assistant.store.conversation(tenant, conversation) if conversation else assistant.start(tenant)
        model, why = assistant.model_for(tenant)
        mode = "offline" if offline or model is None else model.name
        console.print(f"conversation {conv.id} of tenant {tenant} ({mode}{'; ' + why if why else ''})",
                      markup=False)
        last: DraftInfo | None = None
        while True:
            try:
                text = console.input("[bold]you>[/bold] ").strip()
            except (EOFError, KeyboardInterrupt):
                break
            if text in ("/quit", "/exit"):
                break
            if text == "/offline":
                offline = not offline
                console.print(f"offline mode {'on' if offline else 'off'}")
                continue
            if text == "/activate":
                if last is None or last.status != "VALID":
                    console.print("no valid draft to activate yet")
                    continue
                confirm = console.input(f"activate {last.workflow_id} v{last.version}? type yes: ").strip()
                if confirm == "yes":
                    assistant.activate(tenant, last.id)
                    console.print(f"{last.workflow_id} v{last.version} is ACTIVE "
                                  f"(roll back with `erp assistant rollback {tenant} {last.workflow_id}`)")
                continue
            if not text:
                continue
            from erp_platform._errors import ErpPlatformError

            streamed: list[str] = []

            def stream(chunk: str, streamed: list[str] = streamed) -> None:
                streamed.append(chunk)
                console.print(chunk, end="", markup=False, highlight=False)

            try:
                turn = assistant.send(tenant, conv.id, text, offline=offline, on_text=stream)
            except ErpPlatformError as exc:
                console.print(f"error: {exc}", style="red", markup=False)
                continue
            if streamed:  # the model's words were shown as they came: show the rest
                console.print()
                turn = turn.model_copy(update={"reply": ""})
            _show_turn(turn, False)
            last = turn.draft or last


@assistant_app.command("map")
def map_(tenant: str, sdk: str, operation: str, table: str, as_json: bool = JSON) -> None:
    """The offline mapper (no AI): proposed columns of TABLE for OPERATION's entity, with confidence and reason."""
    with platform() as plat:
        proposal = _assistant(plat).propose_mapping(tenant, sdk, operation, table)
    _show_mapping(proposal, as_json)


@assistant_app.command("conversations")
def conversations(tenant: str, as_json: bool = JSON) -> None:
    """List the tenant's conversations (tokens used of the budget)."""
    with platform() as plat:
        items = _assistant(plat).store.conversations(tenant)
    if as_json:
        print_json(items)
        return
    print_table(f"conversations of {tenant}", ["id", "title", "tokens", "updated"],
                [[c.id, c.title, c.tokens, c.updated_at.isoformat(timespec="seconds")] for c in items])


@assistant_app.command("drafts")
def drafts(tenant: str, as_json: bool = JSON) -> None:
    """List the tenant's drafts."""
    with platform() as plat:
        items = _assistant(plat).store.drafts(tenant)
    if as_json:
        print_json(items)
        return
    print_table(f"drafts of {tenant}", ["draft", "workflow", "version", "status", "repairs", "source", "created"],
                [[d.id, d.workflow_id, d.version or "-", d.status, d.repairs, d.source,
                  d.created_at.isoformat(timespec="seconds")] for d in items])


@assistant_app.command("show")
def show(tenant: str, draft_id: int, as_json: bool = JSON) -> None:
    """Show one draft: changes, problems, asset graph, triggers, dry-run rows and diff."""
    with platform() as plat:
        item = _assistant(plat).store.draft(tenant, draft_id)
    if as_json:
        print_json(item)
    else:
        show_draft(item)


@assistant_app.command("activate")
def activate(tenant: str, draft_id: int, as_json: bool = JSON) -> None:
    """Activate a VALID draft's workflow version (same as `erp workflow activate`)."""
    with platform() as plat:
        item = _assistant(plat).activate(tenant, draft_id)
    if as_json:
        print_json({"activated": True, "workflow_id": item.workflow_id, "version": item.version})
    else:
        echo(f"workflow {item.workflow_id} v{item.version} of tenant {tenant} is ACTIVE; roll back with "
              f"`erp assistant rollback {tenant} {item.workflow_id}`")


@assistant_app.command("rollback")
def rollback(tenant: str, workflow: str, as_json: bool = JSON) -> None:
    """Re-activate the version that was ACTIVE before the current one."""
    from assistant import rollback as do_rollback

    with platform() as plat:
        current, previous = do_rollback(plat.engine, tenant, workflow)
    if as_json:
        print_json({"workflow_id": workflow, "from_version": current, "to_version": previous})
    else:
        echo(f"workflow {workflow} of tenant {tenant}: v{previous} is ACTIVE again (v{current} DEPRECATED)")


@assistant_app.command("off")
def off(
    tenant: str | None = typer.Argument(None, help="the tenant (default: every tenant)"),
    reason: str = typer.Option(..., "--reason", help="why (kept in the flag and the audit log)"),
) -> None:
    """Turn the AI provider off (an audited ai_off flag); offline functions keep working."""
    from assistant import set_ai

    with platform() as plat:
        flags = set_ai(plat.engine, tenant, on=False, reason=reason)
    echo(f"AI assistant off for {'every tenant' if tenant is None else tenant} (flag #{flags[0].id})")


@assistant_app.command("on")
def on(tenant: str | None = typer.Argument(None, help="the tenant (default: the global switch)")) -> None:
    """Turn the AI provider back on (clears the ai_off flag)."""
    from assistant import set_ai

    with platform() as plat:
        cleared = set_ai(plat.engine, tenant, on=True)
    where = "globally" if tenant is None else f"for {tenant}"
    echo(f"AI assistant on {where} ({len(cleared)} flag(s) cleared)")


@assistant_app.command("status")
def status(tenant: str, as_json: bool = JSON) -> None:
    """Whether the AI provider is usable for TENANT, and whether it may see sample records."""
    with platform() as plat:
        assistant = _assistant(plat)
        model, why = assistant.model_for(tenant)
        samples = assistant.store.share_samples(tenant)
    result = {"tenant": tenant, "ai": model is not None, "model": model.name if model else None, "why_not": why,
              "share_samples": samples}
    if as_json:
        print_json(result)
    else:
        echo(f"AI provider: {'on (' + model.name + ')' if model else 'off: ' + str(why)}; sample records "
              f"{'are' if samples else 'are not'} shared with it")


@assistant_app.command("share-samples")
def share_samples(tenant: str, enabled: bool = typer.Option(..., "--on/--off", help="opt in or out")) -> None:
    """Opt in (or out) of sending sample records to the AI provider (metadata only by default)."""
    with platform() as plat:
        _assistant(plat).store.set_share_samples(tenant, enabled)
    echo(f"sample records {'will' if enabled else 'will not'} be shared with the AI provider for {tenant}")


@assistant_app.command("link")
def link(tenant: str) -> None:
    """Print the URL of TENANT's chat page (served by `erp dev`); it opens that tenant's page only."""
    from assistant import load_assistant_settings, web_key, web_token
    from erp_platform.db import validate_slug

    with platform() as plat:
        from erp_platform.tenancy import TenantService

        TenantService(plat.engine).get(validate_slug(tenant))
        key = web_key(plat.settings.resolved_home)
    port = load_assistant_settings().web_port
    echo(f"http://127.0.0.1:{port}/assistant/{tenant}?token={web_token(key, tenant)}")


@contextmanager
def assistant_web(plat: Platform, *, host: str = "127.0.0.1") -> Iterator[WebServer | None]:
    """Serve the chat page for `erp dev` (ERP_ASSISTANT_WEB_PORT); None when the port is taken."""
    from assistant import WebServer, create_web_app, load_assistant_settings, web_key

    settings = load_assistant_settings()
    app_ = create_web_app(_assistant(plat), web_key(plat.settings.resolved_home))
    server = WebServer(app_, host=host, port=settings.web_port)
    try:
        server.start()
    except OSError as exc:  # run the stack without the page rather than not at all
        console.print(f"assistant chat page not started: {exc}", markup=False)
        yield None
        return
    try:
        console.print(f"assistant chat: {server.url}/assistant/TENANT (open `erp assistant link TENANT`)")
        yield server
    finally:
        server.stop()


def build_from_docs(tenant: str, docs: Path, *, name: str | None, base_url: str | None,
                    as_json: bool) -> SdkVersionInfo:
    """`erp sdk build TENANT --docs PATH`: the assistant extracts the API, the normal build does the rest."""
    from erp_platform.cli._sdk import _print_version

    with platform() as plat:
        info, report = _assistant(plat).build_sdk_from_docs(tenant, docs, name=name, base_url=base_url)
    if as_json:
        print_json({"sdk": info.model_dump(mode="json"), "docs": report.model_dump(mode="json")})
        return info
    _print_version(info)
    echo(f"operations found in the docs: {len(report.found)} of {len(report.documented)} documented "
          f"({report.rounds} model calls, {report.usage.total} tokens)")
    for missing in report.missing:
        echo(f"  documented but not extracted: {missing}")
    for refused in report.refused:
        echo(f"  refused (could not be cited): {refused}")
    if info.status == "TESTING":
        echo(f"review it, then activate it with: erp sdk activate {tenant} {info.name} {info.version}")
    return info
