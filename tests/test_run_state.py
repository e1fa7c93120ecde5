"""The run's state machine on its own: every event and every request in every state has a
defined answer, an ended run stays ended, and what a page shows follows from the events and the
requests not acknowledged yet, whatever order people click in (generated with hypothesis)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nn_core import runstate as rs

EVENTS = list(rs.MOVES) + ["batch", "epoch", "change", "notice"]
event = st.tuples(st.sampled_from(EVENTS), st.fixed_dictionaries({"status": st.sampled_from(list(rs.ENDED) + ["nonsense"])}))


def test_the_runs_life_in_events():
    assert rs.state_of([]) == rs.QUEUED
    life = [
        ("started", None),
        ("batch", {}),
        ("paused", None),
        ("change", {}),
        ("resumed", None),
        ("epoch", {}),
        ("ended", {"status": "finished"}),
    ]
    seen = []
    state = rs.QUEUED
    for kind, body in life:
        state = rs.after(state, kind, body)
        seen.append(state)
    assert seen == ["running", "running", "paused", "paused", "running", "running", "finished"]
    assert rs.state_of(life) == "finished"
    assert rs.state_of([("ended", {"status": "cancelled"})]) == "cancelled"  # a waiting run cancelled


def test_requests_answered_in_each_state():
    assert rs.answer("queued", "pause") == rs.Answer(rs.REFUSE, "it has not started yet")
    assert rs.answer("queued", "stop").action == rs.NOW  # cancelled at once
    assert rs.answer("queued", "change").action == rs.NOW  # its settings changed before it starts
    assert rs.answer("running", "pause").action == rs.SEND
    assert rs.answer("running", "resume").action == rs.REFUSE
    assert rs.answer("paused", "resume").action == rs.SEND
    assert rs.answer("paused", "pause").reason == "it is paused already"
    for request in rs.REQUESTS:
        assert rs.answer("finished", request) == rs.Answer(rs.REFUSE, "it has ended")


def test_a_request_shows_as_under_way_until_acknowledged():
    assert rs.shown("running", ["pause"]) == rs.PAUSING
    assert rs.shown("paused", []) == rs.PAUSED
    assert rs.shown("paused", ["resume"]) == rs.RESUMING
    assert rs.shown("running", ["pause", "resume"]) == rs.RUNNING  # asked and taken back before the run saw either
    assert rs.shown("paused", ["stop"]) == rs.STOPPING
    assert rs.shown("finished", ["stop"]) == "finished"
    assert rs.controls(rs.PAUSING).hold_label == "Pausing ..." and not rs.controls(rs.PAUSING).hold_enabled
    assert rs.controls("running") == rs.Controls(False, "pause", "Pause", True, True)
    assert rs.controls(None).start and rs.controls("stopped").start and not rs.controls("queued").start


@pytest.mark.parametrize("state", rs.STATES)
def test_every_event_and_request_in_every_state_has_an_answer(state):
    for kind in EVENTS:
        assert rs.after(state, kind, {"status": "stopped"}) in rs.STATES
    for request in rs.REQUESTS + ("explode",):
        answer = rs.answer(state, request)
        assert answer.action in (rs.SEND, rs.NOW, rs.REFUSE)
        assert (answer.action == rs.REFUSE) == bool(answer.reason)
    for pending in ([], ["pause"], ["resume"], ["stop"], ["pause", "stop"]):
        assert rs.shown(state, pending) in rs.SHOWN


@settings(max_examples=300, deadline=None)
@given(st.lists(event, max_size=30))
def test_any_sequence_of_events_adds_up_to_a_state_and_an_end_is_final(events):
    state = rs.QUEUED
    ended_at = None
    for i, (kind, body) in enumerate(events):
        state = rs.after(state, kind, body)
        assert state in rs.STATES
        if state in rs.ENDED and ended_at is None:
            ended_at = (i, state)
    assert rs.state_of(events) == state
    if ended_at is not None:
        assert state == ended_at[1]  # nothing after the end moves it


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(rs.REQUESTS), max_size=20), st.lists(st.booleans(), max_size=20))
def test_people_clicking_in_any_order_against_a_run_that_acknowledges_in_its_own_time(clicks, acks):
    """A simulated run: each click is answered from the state shown; a sent request waits until the
    run acknowledges it (when ``acks`` says it reads its requests), the run's own answer being the
    same function. The shown state always follows, and controls never offer what would be refused."""
    state, pending = rs.RUNNING, []
    acks = iter(acks)
    for click in clicks:
        shown = rs.shown(state, pending)
        buttons = rs.controls(shown)
        if click == "pause" and buttons.hold == "pause" and buttons.hold_enabled:
            assert rs.answer(state, "pause").action == rs.SEND
        if click == "resume" and buttons.hold == "resume" and buttons.hold_enabled:
            assert rs.answer(state, "resume").action == rs.SEND
        answer = rs.answer(state, click)
        if answer.action == rs.SEND:
            pending.append(click)
        if next(acks, False):  # the run reads its requests, in order, and answers each
            for request in pending:
                if rs.answer(state, request).action == rs.SEND:
                    kind = {"pause": "paused", "resume": "resumed", "stop": "ended", "change": "change"}[request]
                    state = rs.after(state, kind, {"status": "stopped"})
            pending = []
        assert rs.shown(state, pending) in rs.SHOWN
        assert rs.controls(rs.shown(state, pending)).start == (state in rs.ENDED)
