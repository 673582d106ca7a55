"""The one place the CLI turns a `GloveboxError` into a message and an exit code."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from knowledge.errors import ConfigurationError, GloveboxError, InputError, StageError
from ui.cli import GloveboxGroup, app


def _app_raising(error: GloveboxError) -> typer.Typer:
    """A root group like `glovebox`'s with a command in a subgroup, as `bench s10` is."""
    root = typer.Typer(cls=GloveboxGroup, pretty_exceptions_enable=False)
    group = typer.Typer()
    root.add_typer(group, name="group")

    @group.command("fails")
    def fails() -> None:
        raise error

    @root.command("works")
    def works() -> None:
        typer.echo("fine")

    return root


@pytest.mark.parametrize(
    ("error", "exit_code"),
    [
        (InputError("cases.jsonl", "not a retrieval case", line=3), 2),
        (ConfigurationError("set GLOVEBOX_LLM_BASE_URL"), 2),
        (StageError("retrieval", "the store did not answer"), 1),
        (GloveboxError("something else went wrong"), 1),
    ],
)
def test_a_command_error_is_one_line_and_its_exit_code(
    error: GloveboxError, exit_code: int
) -> None:
    result = CliRunner().invoke(_app_raising(error), ["group", "fails"])

    assert result.exit_code == exit_code
    assert result.stderr == f"error: {error}\n"
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_a_command_that_succeeds_is_untouched() -> None:
    result = CliRunner().invoke(_app_raising(GloveboxError("unused")), ["works"])

    assert (result.exit_code, result.stdout, result.stderr) == (0, "fine\n", "")


def test_glovebox_runs_its_commands_through_the_one_handler() -> None:
    assert isinstance(typer.main.get_command(app), GloveboxGroup)
    result = CliRunner().invoke(app, ["ask"])

    assert result.exit_code == 2
    assert result.stderr == "error: question: give a QUESTION or --file PATH ('-' for stdin)\n"
