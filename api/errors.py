"""One JSON error shape: DRF's field errors as they are, `{"detail": …}` for everything else, and
never an HTML page or a bare 500 under /api/."""

import logging

from django.core.exceptions import SuspiciousOperation
from django.db import DataError, IntegrityError, InterfaceError, OperationalError
from django.http import JsonResponse
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is not None:
        return response
    if isinstance(exc, SuspiciousOperation):
        # Django's own refusal of a request (a file name it cannot store, too many fields…), which
        # it would answer with an HTML page: the client's input. Its text may hold server paths, so
        # it is logged (django.security does too), not echoed.
        logger.warning("suspicious request in %s: %s", context.get("view"), exc)
        return Response(
            {"detail": "The request was refused: a value of it (such as a file name) is not acceptable."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DataError):
        # PostgreSQL refuses e.g. an id beyond bigint in a filter: the client's input, not our bug.
        return Response(
            {"detail": "A value is out of range or malformed."}, status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, RecursionError):
        # A value nested deeper than the interpreter's limit, by a path that does not decode with
        # config.client_json (bodies and JSON form fields do, and name the field). Logged: a
        # recursion bug of ours would land here too.
        logger.warning("recursion limit in %s", context.get("view"), exc_info=exc)
        return Response(
            {"detail": "A value of the request is nested too deeply."}, status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, UnicodeEncodeError) and exc.reason == "surrogates not allowed":
        # A lone UTF-16 surrogate that got past config.client_json by a path we do not know
        # cannot be stored: the client's input. Any other encoding error is ours, and stays a 500.
        logger.warning("lone surrogate in %s", context.get("view"), exc_info=exc)
        return Response(
            {"detail": "A string of the request holds a lone UTF-16 surrogate, which is not a character."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, IntegrityError):
        # A concurrent writer won a unique constraint between validation and insert.
        return Response(
            {"detail": "Conflicts with existing data; reload and retry."}, status=status.HTTP_409_CONFLICT
        )
    if isinstance(exc, (OperationalError, InterfaceError)):
        # A database that cannot answer is a temporary condition for the client, not a bug.
        logger.exception("database unavailable in %s", context.get("view"))
        return Response(
            {"detail": "The database is unavailable; retry later."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    return None


def json_404(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def json_400(request, exception=None):
    """Django's 400 (a SuspiciousOperation outside a DRF view, a request it cannot read): JSON
    under /api/, like every other answer there."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Bad request."}, status=400)
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def json_500(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    from django.views.defaults import server_error

    return server_error(request)
