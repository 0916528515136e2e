"""Stand-ins for the networks lanyard imports follow lists from, served on loopback.

Each is a small threaded WSGI server (``server.StandIn``) answering with the documented
shapes and headers of the real API, with faults a test switches on (``Faults``): a
page that fails, hangs, is not JSON, or links back to page 1; a 429 with Retry-After.
They listen on 127.0.0.2, so a test allows exactly that address
(``LANYARD_HTTP_ALLOW_NETWORKS=127.0.0.2/32``) and the guarded client's rules hold for
everything else. The browser tests of sign-in reuse them (the OAuth endpoints).
"""
