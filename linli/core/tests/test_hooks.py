"""Named hooks: ordered, listed by `linli hooks`, and the list is kept in a reviewed snapshot."""

import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from linli.core import hooks

SNAPSHOT = Path(__file__).parent / "snapshots" / "hooks.txt"


def first(x):
    return ("first", x)


def second(x):
    return ("second", x)


def test_registrants_run_by_order_then_registration_and_registering_again_replaces():
    hook = hooks.Hook("test.ordered", "(x) -> tuple", "for the test")
    hook.register(second, order=20)
    hook.register(first, order=10)
    assert [f(1) for f in hook] == [("first", 1), ("second", 1)]
    hook.register(first, order=30)  # an app's ready() run again: moved, not doubled
    assert list(hook) == [second, first] and len(hook) == 2 and first in hook
    with hook.replaced(second):
        assert list(hook) == [second]
    with hook.added(first, order=0):
        assert list(hook) == [first, second]
    assert list(hook) == [second, first]
    hook.unregister(second)
    assert list(hook) == [first]


def test_a_hook_declared_twice_differently_is_refused(monkeypatch):
    monkeypatch.setattr(hooks, "_HOOKS", dict(hooks._HOOKS))  # not left among the real ones
    hooks.declare("test.declared", "(x) -> None", "for the test")
    assert hooks.declare("test.declared", "(x) -> None", "for the test") is hooks.declare(
        "test.declared", "(x) -> None", "again")
    with pytest.raises(ValueError, match="declared twice"):
        hooks.declare("test.declared", "(x, y) -> None", "for the test")


def test_every_hook_and_its_registrants_match_the_reviewed_snapshot():
    """A new hook or registrant changes what runs where: review it, then refresh the snapshot with
    `linli hooks > linli/core/tests/snapshots/hooks.txt`."""
    from linli.cli import cmd_hooks

    out = io.StringIO()
    with redirect_stdout(out):
        cmd_hooks(None)
    assert out.getvalue().strip() == SNAPSHOT.read_text(encoding="utf-8").strip(), (
        "the hooks changed: run `linli hooks > linli/core/tests/snapshots/hooks.txt`, review and commit it")

