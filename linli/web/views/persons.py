"""Person pages (实有人口): list, exact lookup, detail with reveal, create and edit.

Clear ID and phone numbers appear in exactly one place: the reveal answer, after the
service has checked the permission and written the audit entry.
"""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from linli.people import selectors, services
from linli.web.forms.people import PersonFilterForm, PersonForm, PersonLookupForm
from linli.web.views.common import can, console_view, paginate, posted, render_form, submit

PERSON_FIELDS = ("name", "id_type", "gender", "birth_date", "population_type", "care_tags", "ethnicity", "note")


def _list_page(request, page, *, filters, lookup, status: int = 200):
    return render(request, "web/people/person_list.html", {
        "form": filters, "lookup": lookup, "page": page, "can_add": can(request, "people.add_person"),
    }, status=status)


@console_view("people.view_person")
def person_list(request):
    form = PersonFilterForm(request.GET, user=request.user)
    data = form.cleaned_data if form.is_valid() else {}
    compound = data.get("compound")
    qs = selectors.persons(
        request.user, compound_id=compound.pk if compound else None, q=data.get("q", ""),
        care_tag=data.get("care_tag", ""), population_type=data.get("population_type", ""),
    )
    return _list_page(request, paginate(request, qs), filters=form, lookup=PersonLookupForm())


@never_cache
@console_view("people.view_person")
def person_lookup(request):
    """Exact match on ID number or phone through the keyed digests; at most a handful of rows."""
    if request.method != "POST":
        return redirect("web:person_list")
    lookup = PersonLookupForm(request.POST)
    filters = PersonFilterForm(user=request.user)
    if not lookup.is_valid():
        return _list_page(request, None, filters=filters, lookup=lookup, status=400)
    qs = selectors.persons(request.user, id_number=lookup.cleaned_data["id_number"],
                           phone=lookup.cleaned_data["phone"])
    page = paginate(request, qs)
    # Echoing the numbers back would put them into the page; the searcher knows what they typed.
    return _list_page(request, page, filters=filters, lookup=PersonLookupForm())


@console_view("people.view_person")
def person_detail(request, pk: int):
    person = selectors.person(request.user, pk)
    return render(request, "web/people/person_detail.html", _detail_context(request, person))


def _detail_context(request, person) -> dict:
    user = request.user
    return {
        "person": person,
        "residencies": selectors.residencies(user, person_id=person.pk),
        "vehicles": selectors.vehicles(user, owner_id=person.pk) if can(request, "people.view_vehicle") else [],
        "consents": selectors.consents(user, person_id=person.pk) if can(request, "people.view_consent") else [],
        "can_edit": can(request, "people.change_person"),
        "can_reveal": can(request, "people.reveal_person"),
        "can_audit": can(request, "core.view_auditentry"),
    }


@never_cache
@require_POST
@console_view("people.reveal_person")
def person_reveal(request, pk: int):
    person = selectors.person(request.user, pk)
    values = services.reveal_person(actor=request.user, person=person)
    if request.headers.get("HX-Request"):
        return render(request, "web/people/_revealed.html", {"person": person, "revealed": values})
    context = {**_detail_context(request, person), "revealed": values}
    return render(request, "web/people/person_detail.html", context)


@console_view("people.add_person")
def person_create(request):
    form = PersonForm(posted(request), user=request.user)
    if request.method == "POST":
        person = submit(form, lambda _data: services.create_person(actor=request.user, **form.service_arguments()))
        if person is not None:
            return redirect("web:person_detail", pk=person.pk)
    return render_form(request, form, title=_("登记人员"), back=reverse("web:person_list"))


@console_view("people.change_person")
def person_edit(request, pk: int):
    person = selectors.person(request.user, pk)
    initial = {f: getattr(person, f) for f in PERSON_FIELDS}
    form = PersonForm(posted(request), user=request.user, person=person, initial=initial)
    if request.method == "POST":
        saved = submit(form, lambda _data: services.update_person(actor=request.user, person=person,
                                                                   **form.service_arguments()))
        if saved is not None:
            return redirect("web:person_detail", pk=person.pk)
    return render_form(request, form, title=_("编辑人员"), subtitle=person.name,
                       back=reverse("web:person_detail", args=[pk]))
