from django.urls import path, re_path

from . import paste, views

# Included after the signed-in pages (personal.urls owns /calendar/, event.ics, attendance,
# follow). The catch-alls come last: nothing after this include starts with events/,
# people/ or topics/.
urlpatterns = [
    path("", views.home, name="home"),
    path("events/", views.events, name="events"),
    path("events/<lslug:slug>/", views.event, name="event"),
    path("events/<lslug:slug>/attendees/", views.event_directory, {"directory": "attendees"}, name="attendees"),
    path("events/<lslug:slug>/speakers/", views.event_directory, {"directory": "speakers"}, name="speakers"),
    path("talks/<int:talk_id>/", views.talk, name="talk"),
    path("people/", views.people, name="people"),
    path("people/<lslug:handle>/", views.person, name="person"),
    path("topics/", views.topics, name="topics"),
    path("topics/<lslug:slug>/", views.topic, name="topic"),
    path("coverage/", views.coverage, name="coverage"),
    path("search/", views.search, name="search"),
    path("talks/<int:talk_id>/coverage/", paste.paste_talk, name="paste_talk"),
    path("events/<lslug:slug>/coverage/", paste.paste_event, name="paste_event"),
    path("coverage/<int:coverage_id>/remove/", paste.remove_link, name="remove_link"),
    path("robots.txt", views.robots, name="robots"),
    path("favicon.ico", views.favicon, name="favicon"),
    # Anything else in a slug's place (an old accented slug from an email already sent, a
    # capitalised one): 301 to where that row lives now, else 404. Never rendered as is.
    re_path(r"^events/(?P<slug>[^/]+)/(?P<rest>.*)$", views.moved, {"kind": "event"}),
    re_path(r"^people/(?P<slug>[^/]+)/(?P<rest>.*)$", views.moved, {"kind": "person"}),
    re_path(r"^topics/(?P<slug>[^/]+)/(?P<rest>.*)$", views.moved, {"kind": "topic"}),
]
