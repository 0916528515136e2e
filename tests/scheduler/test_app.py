"""The Celery app's wiring: every beat entry names a task the workers know."""

from scheduler.app import QUEUES, ROUTES, create_app


def test_every_beat_entry_is_a_registered_task_on_a_known_queue(make_settings):
    app = create_app(make_settings())
    app.loader.import_default_modules()
    for name, entry in app.conf.beat_schedule.items():
        assert entry["task"] in app.tasks, f"beat entry {name!r} names an unknown task {entry['task']!r}"
    assert {"tick", "search-flush"} <= set(app.conf.beat_schedule)
    for pattern, route in ROUTES.items():
        assert route["queue"] in QUEUES, pattern
