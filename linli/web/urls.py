from django.urls import path

from linli.web.views import audit, auth, directory, home, houses, persons, places, tree

app_name = "web"
urlpatterns = [
    path("", home.home, name="home"),
    path("login/", auth.login, name="login"),
    path("logout/", auth.logout, name="logout"),
    # Places
    path("places/", tree.place_tree, name="place_tree"),
    path("places/children/", tree.place_tree_children, name="place_tree_children"),
    path("compounds/", places.compound_list, name="compound_list"),
    path("compounds/new/", places.compound_create, name="compound_create"),
    path("compounds/<int:pk>/", places.compound_detail, name="compound_detail"),
    path("compounds/<int:pk>/edit/", places.compound_edit, name="compound_edit"),
    path("compounds/<int:compound_pk>/buildings/new/", places.building_create, name="building_create"),
    path("buildings/", places.building_list, name="building_list"),
    path("buildings/<int:pk>/", places.building_detail, name="building_detail"),
    path("buildings/<int:pk>/edit/", places.building_edit, name="building_edit"),
    path("units/<int:unit_pk>/houses/new/", houses.house_create, name="house_create"),
    path("houses/", houses.house_list, name="house_list"),
    path("houses/<int:pk>/", houses.house_detail, name="house_detail"),
    path("houses/<int:pk>/edit/", houses.house_edit, name="house_edit"),
    path("houses/<int:pk>/residencies/new/", houses.residency_add, name="residency_add"),
    path("houses/<int:pk>/residencies/end/", houses.residency_end, name="residency_end"),
    # People
    path("persons/", persons.person_list, name="person_list"),
    path("persons/lookup/", persons.person_lookup, name="person_lookup"),
    path("persons/new/", persons.person_create, name="person_create"),
    path("persons/<int:pk>/", persons.person_detail, name="person_detail"),
    path("persons/<int:pk>/edit/", persons.person_edit, name="person_edit"),
    path("persons/<int:pk>/reveal/", persons.person_reveal, name="person_reveal"),
    path("organisations/", directory.organisation_list, name="organisation_list"),
    path("organisations/new/", directory.organisation_create, name="organisation_create"),
    path("organisations/<int:pk>/", directory.organisation_detail, name="organisation_detail"),
    path("organisations/<int:pk>/edit/", directory.organisation_edit, name="organisation_edit"),
    path("realunits/", directory.realunit_list, name="realunit_list"),
    path("realunits/new/", directory.realunit_create, name="realunit_create"),
    path("realunits/<int:pk>/", directory.realunit_detail, name="realunit_detail"),
    path("realunits/<int:pk>/edit/", directory.realunit_edit, name="realunit_edit"),
    path("vehicles/", directory.vehicle_list, name="vehicle_list"),
    path("vehicles/new/", directory.vehicle_create, name="vehicle_create"),
    path("vehicles/<int:pk>/", directory.vehicle_detail, name="vehicle_detail"),
    path("vehicles/<int:pk>/edit/", directory.vehicle_edit, name="vehicle_edit"),
    # Audit
    path("audit/", audit.audit_list, name="audit_list"),
    path("audit/verify/", audit.audit_verify, name="audit_verify"),
    path("audit/<int:pk>/", audit.audit_detail, name="audit_detail"),
]
