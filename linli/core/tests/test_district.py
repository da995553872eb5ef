from linli.core.audit import verify_chain
from linli.places.models import House


def test_the_test_district_builds_through_services_and_audits_every_row(district):
    assert House.objects.count() == 4
    report = verify_chain()
    assert report.ok
    assert report.checked > 20
    assert district.a.house.standard_address == "山东省青岛市胶州市阜安街道阜安小区3号楼2单元501室"
