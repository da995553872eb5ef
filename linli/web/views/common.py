"""What every console view shares: login and permission gate, error mapping, forms, pagination."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest
from django.shortcuts import render
from django.urls import resolve, reverse

from linli.core.errors import Conflict, Forbidden, NotFound

PAGE_SIZE = 50


def console_view(permission: str | None = None) -> Callable:
    """Log-in required; `permission` checked against the user's scope; service errors become 404/403.

    NotFound and Forbidden turn into Django's Http404 / PermissionDenied so the site-wide
    404.html and 403.html pages answer, with the right status, for every view alike.
    """

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any):
            if permission and not request.user.scope().allows(permission):
                raise PermissionDenied
            try:
                return view(request, *args, **kwargs)
            except NotFound as exc:
                raise Http404(exc.what) from exc
            except Forbidden as exc:
                raise PermissionDenied(str(exc)) from exc

        guarded = login_required(wrapper)
        guarded.console_permission = permission  # read by may_open; decorators above copy it along
        return guarded

    return decorate


def can(request: HttpRequest, permission: str) -> bool:
    return request.user.scope().allows(permission)


def may_open(user: Any, url_name: str, *args: Any) -> bool:
    """Whether `user` passes the gate of the console page `url_name` (with `args`) names.

    The answer is the check console_view makes on that page, read from the page's own view, so a
    link is shown exactly where it opens and no role is walked into a 403. Objects outside the
    user's scope are the selectors' business: those pages answer 404 whoever links to them.
    """
    view = resolve(reverse(url_name, args=args)).func
    if not hasattr(view, "console_permission"):
        raise ImproperlyConfigured(f"{url_name} is not a console_view page; may_open cannot tell who opens it")
    permission = view.console_permission
    return permission is None or user.scope().allows(permission)


def paginate(request: HttpRequest, queryset: Any) -> Page:
    """One page of 50: a COUNT and one SELECT, whatever the table size."""
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def apply_error(form: forms.Form, exc: ValidationError | Conflict) -> None:
    """Show a service's refusal on the form: on the named field when the form has it, else on top."""
    if isinstance(exc, Conflict):
        field = exc.field if exc.field in form.fields else None
        form.add_error(field, str(exc))
        return
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, messages in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


def posted(request: HttpRequest) -> Any:
    """The POST data for a bound form, or None for a first, unbound display."""
    return request.POST if request.method == "POST" else None


def render_form(request: HttpRequest, form: forms.Form, *, title: Any, back: str,
                template: str = "web/form.html", **extra: Any):
    """The form page; a refused submission answers 400 so clients and tests see the rejection."""
    context = {"form": form, "title": title, "back": back, **extra}
    status = 400 if form.is_bound and form.errors else 200
    return render(request, template, context, status=status)


def submit(form: forms.Form, save: Callable[[dict[str, Any]], Any]) -> Any:
    """Run `save(cleaned_data)` for a valid form; None when the form or the service refused."""
    if not form.is_valid():
        return None
    try:
        return save(form.cleaned_data)
    except (ValidationError, Conflict) as exc:
        apply_error(form, exc)
        return None


def int_param(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None
