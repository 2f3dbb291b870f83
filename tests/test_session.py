"""A session owns what its calls share: the store and the pain-point tracker."""

from assist.audio import FileSource
from assist.call import CallSettings
from assist.painpoints import PainPointTracker
from assist.resources import sample_call
from assist.session import Session, open_store


def _tracker(pipeline) -> PainPointTracker:
    return next(a for a in pipeline.analyzers if isinstance(a, PainPointTracker))


def test_a_sessions_calls_share_one_tracker_and_its_store(tmp_path, whisper_model, embedder):
    settings = CallSettings.build(language="en", store=True, db=str(tmp_path / "s.db"))
    source = FileSource(sample_call())
    session = Session(source, open_store(settings))
    try:
        first = session.pipeline_factory(settings, source.speakers, [])
        second = session.pipeline_factory(settings, source.speakers, [])
        assert _tracker(first) is _tracker(second) is session.tracker
        assert session.tracker.store is session.store
        assert [sink.call_id for sink in session.sinks] == [first.call_id, second.call_id]
        assert first.sinks[0] is session.sinks[0]  # stored before anything is shown
    finally:
        session.close()


def test_two_sessions_do_not_share_a_tracker(whisper_model, embedder):
    """No process-wide registry: each session (each CLI run, each app) has its own."""
    settings = CallSettings.build(language="en")
    source = FileSource(sample_call())
    one, other = Session(source), Session(source)
    try:
        a = _tracker(one.pipeline_factory(settings, source.speakers, []))
        b = _tracker(other.pipeline_factory(settings, source.speakers, []))
        assert a is not b and a.store is None and not one.sinks
    finally:
        one.close()
        other.close()
