"""The site's URLs plus one view that fails: how the 500 page is tested."""

from django.urls import path

from lanyard_site.urls import urlpatterns as site_urlpatterns


def boom(request):
    raise RuntimeError("a bug, on purpose")


urlpatterns = [path("boom/", boom), *site_urlpatterns]
