"""Request checks that come before any view."""

from django.core.exceptions import SuspiciousOperation


class RefuseNulBytesMiddleware:
    """A NUL byte in the path or the query string is a 400 (handler400: JSON under /api/).

    PostgreSQL's text cannot hold one, so every lookup it reached was a 500 (DataError): an admin
    changelist filter (`?state=%00`), the admin's autocomplete search, an object id in an admin
    URL, found by fuzzing the admin on PostgreSQL. No legitimate value holds one. Form bodies need
    no check here: Django's and DRF's CharFields refuse NUL themselves.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
            raise SuspiciousOperation("NUL byte in the request's path or query string")
        return self.get_response(request)
