import cProfile, pstats
from django.db import connection
from django.test.utils import CaptureQueriesContext
from linli.exchange.services import import_workbook
from linli.exchange.tests.sheets import PERSON_HEADERS, workbook
from linli.exchange.tests.test_imports import new_id

def test_prof(district):
    a = district.a
    rows = [[a.compound.code, f"居民{n}", "", new_id(n), f"139{n:08d}", "", "", "3", "2", "502", "同住人", ""] for n in range(10_000)]
    data = workbook(PERSON_HEADERS, rows)
    pr = cProfile.Profile(); pr.enable()
    with CaptureQueriesContext(connection) as q:
        import_workbook(actor=a.users["property_manager"], kind="persons", data=data, dry_run=False)
    pr.disable()
    print("QUERIES", len(q))
    pstats.Stats(pr).sort_stats("cumulative").print_stats(30)
