"""Reads behind the site's pages, one module per page: each returns what one part of a page shows.

Every list a page shows is bounded, and each is read with a fixed number of queries
(select_related / prefetch / one aggregate), so a page's query count does not grow with
the rows it shows. Filters from a URL are checked against what exists; an unknown value
is dropped and reported, never passed on.

- ``home``: the front page; ``listing``: /events/ and its filters; ``event``: an event,
  its schedule and its people directories; ``talk``: a talk; ``people``: a person's page
  and /people/; ``topics``: /topics/ and a topic; ``coverage``: /coverage/ and the coverage
  blocks of pages; ``search``: /search/; ``old_slugs``: where a renamed row lives now.
- ``shared``: the day, cleaning URL text, the filter choices; ``paging``: page numbers and pages.
"""
