"""The runner: DAG concurrency, cache, retries with backoff, deterministic failures, validation before running."""

from __future__ import annotations

import pytest

from pipeline import errors
from pipeline.flow import Runner
from pipeline.store import default_journal
from tests.support.runs import DIAMOND, spec_of

EXPECTED = {"d": [{"from_a": 7, "side": "b"}, {"from_a": 7, "side": "c"}], "e": 56}


def test_diamond_runs_and_independent_steps_overlap(activities) -> None:
    result = Runner(workers=2).run(spec_of(DIAMOND), {"x": 7})
    assert result.status == "succeeded", result.error
    assert result.output == EXPECTED and result.executed == 5
    attempts = {a.step: a for a in default_journal().attempts(result.run_id)}
    b, c = attempts["b"], attempts["c"]
    assert b.started_at < c.finished_at and c.started_at < b.finished_at  # b and c ran at the same time
    assert attempts["d"].started_at >= max(b.finished_at, c.finished_at)  # d waited for both


def test_second_run_is_served_from_cache(activities) -> None:
    runner = Runner(workers=2)
    first = runner.run(spec_of(DIAMOND), {"x": 7})
    second = runner.run(spec_of(DIAMOND), {"x": 7})
    assert second.output == first.output == EXPECTED
    assert (second.executed, second.cached) == (0, 5)
    assert {a.status for a in default_journal().attempts(second.run_id)} == {"cached"}
    forced = runner.run(spec_of(DIAMOND), {"x": 7}, no_cache=True)
    assert (forced.executed, forced.cached) == (5, 0)
    changed = runner.run(spec_of(DIAMOND), {"x": 8})
    # a new input reruns every step it reaches; e's input (the size of d's) is unchanged, so e is still cached
    assert (changed.executed, changed.cached) == (4, 1)


def test_retryable_failure_retries_with_backoff(activities) -> None:
    spec = spec_of(
        {
            "name": "retry",
            "steps": {
                "slow": {
                    "activity": "forever",
                    "input": {},
                    "retry": {"max_attempts": 3, "backoff_s": 0.3, "multiplier": 2, "jitter": 0},
                }
            },
        }
    )
    result = Runner().run(spec, {})
    assert result.status == "failed" and "ActivityTimeout" in result.error
    attempts = default_journal().attempts(result.run_id)
    assert [a.attempt for a in attempts] == [1, 2, 3]
    assert all(a.status == "failed" and a.error_type == "ActivityTimeout" for a in attempts)
    assert attempts[1].started_at - attempts[0].finished_at >= 0.3
    assert attempts[2].started_at - attempts[1].finished_at >= 0.6


def test_deterministic_failure_is_not_retried_and_stops_the_run(activities) -> None:
    spec = spec_of(
        {
            "name": "trap",
            "steps": {
                "boom": {"activity": "trap", "input": {}, "retry": {"max_attempts": 5}},
                "after": {"activity": "echo", "input": "${steps.boom.output}"},
            },
        }
    )
    result = Runner().run(spec, {})
    assert result.status == "failed" and "ActivityTrapped" in result.error
    attempts = default_journal().attempts(result.run_id)
    assert [(a.step, a.attempt, a.status) for a in attempts] == [("boom", 1, "failed")]


def test_when_skips_a_step_and_its_dependents(activities) -> None:
    spec = spec_of(
        {
            "name": "cond",
            "steps": {
                "check": {"activity": "echo", "input": {"go": "${input.go}"}},
                "maybe": {"activity": "echo", "input": {"ran": True}, "when": "${steps.check.output.echo.go}"},
                "later": {"activity": "echo", "input": "${steps.maybe.output}"},
            },
        }
    )
    ran = Runner().run(spec, {"go": True})
    assert ran.output["maybe"] == {"bytes": 13, "echo": {"ran": True}}
    skipped = Runner().run(spec, {"go": False})
    assert skipped.status == "succeeded" and skipped.output["maybe"] is None and skipped.output["later"] is None


def test_missing_step_reference_fails_before_anything_runs(activities) -> None:
    spec = spec_of({"name": "bad", "steps": {"a": {"activity": "echo", "input": "${steps.nope.output}"}}})
    with pytest.raises(errors.InvalidInput, match="step 'nope', which does not exist"):
        Runner().run(spec, {})
    assert default_journal().runs() == []


def test_missing_input_field_fails_before_anything_runs(activities) -> None:
    with pytest.raises(errors.InvalidInput, match="no 'x' there"):
        Runner().run(spec_of(DIAMOND), {"y": 1})
    assert default_journal().runs() == []


def test_unknown_activity_fails_before_anything_runs(activities) -> None:
    spec = spec_of({"name": "bad", "steps": {"a": {"activity": "ghost", "input": {}}}})
    with pytest.raises(errors.ActivityNotFound):
        Runner().run(spec, {})
    assert default_journal().runs() == []


def test_cycle_is_refused(activities) -> None:
    spec = spec_of(
        {
            "name": "loop",
            "steps": {
                "a": {"activity": "echo", "input": "${steps.b.output}"},
                "b": {"activity": "echo", "input": "${steps.a.output}"},
            },
        }
    )
    with pytest.raises(errors.InvalidInput, match="cycle"):
        Runner().run(spec, {})
