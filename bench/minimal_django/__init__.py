"""A minimal Django app answering one template-rendered page at `/`: the yardstick of the
benchmark's "first request after start" row, started by gunicorn as feedsvc is.

    pip install -e '.[bench]'
    .venv/bin/gunicorn -w 1 -k sync 'bench.minimal_django:application'

Django is needed by the benchmark only (the `bench` extra), not by feedsvc or its tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-only-secret",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[],
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
    TEMPLATES=[
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [str(Path(__file__).resolve().parent / "templates")],
        }
    ],
    USE_TZ=True,
    LANGUAGE_CODE="de",
)

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.shortcuts import render  # noqa: E402
from django.urls import path  # noqa: E402

ITEMS = [f"Pressemitteilung {number}" for number in range(1, 21)]


def page(request: Any) -> Any:
    return render(request, "page.html", {"title": "Aktuelle Pressemitteilungen", "items": ITEMS})


urlpatterns = [path("", page)]
application = get_wsgi_application()
