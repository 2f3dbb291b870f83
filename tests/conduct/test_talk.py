"""Overtalk, talk share and the longest monologue, from voice activity: the monitor's rule
on voice timelines, and transcripts whose turns overlap."""

from __future__ import annotations

from assist.call import TranscriptCall
from assist.conduct import TalkMonitor
from assist.events import AGENT, CUSTOMER, Overtalk, Utterance

FRAME = 0.1


def heard(monitor: TalkMonitor, spans: dict[str, list[tuple[float, float]]], until: float):
    """Feed voice activity frame by frame, as the pipeline does; returns the events."""
    events = []
    for i in range(1, round(until / FRAME) + 1):
        t = i * FRAME
        mid = t - FRAME / 2
        voiced = {s: any(a <= mid <= b for a, b in spans.get(s, [])) for s in (AGENT, CUSTOMER)}
        events += monitor.hear(t, voiced)
    return events + monitor.finish(until)


def test_the_customer_talking_over_the_agent_is_one_overtalk():
    monitor = TalkMonitor()
    events = heard(monitor, {AGENT: [(0.0, 5.0)], CUSTOMER: [(3.8, 8.0)]}, 9.0)
    (overtalk,) = events
    assert isinstance(overtalk, Overtalk) and overtalk.speaker == CUSTOMER
    assert abs(overtalk.start - 3.8) < 0.11 and abs(overtalk.duration - 1.2) < 0.11


def test_the_agent_cutting_in_is_the_agents_overtalk():
    (overtalk,) = heard(TalkMonitor(), {CUSTOMER: [(0.0, 6.0)], AGENT: [(4.0, 9.0)]}, 9.0)
    assert overtalk.speaker == AGENT and abs(overtalk.duration - 2.0) < 0.11


def test_a_backchannel_is_not_overtalk():
    spans = {AGENT: [(0.0, 8.0)], CUSTOMER: [(3.0, 3.3), (5.0, 5.4)]}
    assert heard(TalkMonitor(), spans, 9.0) == []


def test_overtalk_goes_out_as_the_overlap_ends_not_at_the_end_of_the_call():
    monitor = TalkMonitor()
    spans = {AGENT: [(0.0, 5.0)], CUSTOMER: [(4.0, 20.0)]}
    events = []
    for i in range(1, 61):
        events += [(i * FRAME, e) for e in monitor.hear(i * FRAME, {
            s: any(a <= i * FRAME - 0.05 <= b for a, b in spans[s]) for s in spans})]
    ((sent_at, event),) = events
    assert sent_at <= 5.0 + 0.5 and event.speaker == CUSTOMER  # not waiting out the bridge


def test_talk_share_and_the_longest_monologue():
    monitor = TalkMonitor()
    heard(monitor, {AGENT: [(0.0, 4.0), (5.0, 12.0), (20.0, 22.0)], CUSTOMER: [(13.0, 19.0)]}, 23.0)
    figures = monitor.figures
    assert abs(figures.voice[AGENT] - 13.0) < 0.3 and abs(figures.voice[CUSTOMER] - 6.0) < 0.3
    assert abs(figures.talk_agent - 13 / 19) < 0.02
    assert abs(figures.longest_monologue - 12.0) < 0.2  # 0-12 s, its pause included


def test_a_transcript_with_overlapping_turns_gives_overtalk():
    utterances = [
        Utterance(speaker=AGENT, start=0.0, end=6.0, text="Let me explain how the fee works here."),
        Utterance(speaker=CUSTOMER, start=4.5, end=8.0, text="No, listen, I never agreed to it."),
        Utterance(speaker=AGENT, start=9.0, end=10.0, text="Okay."),
        Utterance(speaker=CUSTOMER, start=9.7, end=10.5, text="Mhm."),
    ]
    events: list = []
    monitor = TalkMonitor()
    TranscriptCall(utterances, [monitor], [events.append]).run()
    (overtalk,) = [e for e in events if isinstance(e, Overtalk)]
    assert overtalk.speaker == CUSTOMER and overtalk.start == 4.5 and overtalk.duration == 1.5


def test_a_breath_inside_an_overlap_does_not_split_it():
    spans = {AGENT: [(0.0, 2.9), (3.1, 5.0)], CUSTOMER: [(3.8, 4.5), (4.7, 8.0)]}
    (overtalk,) = heard(TalkMonitor(), spans, 9.0)
    assert overtalk.speaker == CUSTOMER and abs(overtalk.duration - 1.2) < 0.11


def test_an_overlap_that_resumes_within_the_bridge_is_sent_once():
    spans = {AGENT: [(0.0, 5.0), (5.4, 7.0)], CUSTOMER: [(4.0, 9.0)]}  # the agent breathes
    (overtalk,) = heard(TalkMonitor(), spans, 10.0)
    assert overtalk.speaker == CUSTOMER and abs(overtalk.duration - 1.0) < 0.11
