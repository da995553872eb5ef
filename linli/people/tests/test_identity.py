"""Identity documents, plates and credit codes are checked the way the standards say."""

import pytest
from django.core.exceptions import ValidationError

from linli.people.identity import (
    IdType,
    mainland_id_check_char,
    uscc_check_char,
    validate_id_number,
    validate_mobile,
    validate_uscc,
)
from linli.people.plates import validate_plate


def test_a_mainland_id_with_the_right_check_character_passes():
    first17 = "11010519491231002"
    value = first17 + mainland_id_check_char(first17)
    assert value == "11010519491231002X"  # the worked example of GB 11643
    assert validate_id_number(IdType.MAINLAND_ID, value.lower()) == value


@pytest.mark.parametrize("bad", ["11010519491231002Y", "110105194912310021", "1101051949123100", "11010519491332002X",
                                 "11010530001231002X"])
def test_a_mainland_id_with_a_bad_checksum_length_or_date_is_refused(bad):
    with pytest.raises(ValidationError):
        validate_id_number(IdType.MAINLAND_ID, bad)


@pytest.mark.parametrize("id_type,value", [(IdType.PASSPORT, "E12345678"), (IdType.HK_MACAU_PERMIT, "H12345678"),
                                           (IdType.HK_MACAU_PERMIT, "M1234567801"), (IdType.TAIWAN_PERMIT, "12345678")])
def test_passports_and_travel_permits_are_accepted(id_type, value):
    assert validate_id_number(id_type, value) == value


@pytest.mark.parametrize("id_type,value", [(IdType.HK_MACAU_PERMIT, "X12345678"), (IdType.TAIWAN_PERMIT, "1234"),
                                           (IdType.PASSPORT, "E1-23")])
def test_malformed_permits_are_refused(id_type, value):
    with pytest.raises(ValidationError):
        validate_id_number(id_type, value)


@pytest.mark.parametrize("plate", ["鲁B12345", "鲁BD12345", "鲁B12345D", "京AF0236", "粤B·D12345", "沪A1234挂"])
def test_ga36_plates_pass(plate):
    assert validate_plate(plate)


@pytest.mark.parametrize("plate", ["鲁I12345", "B12345", "鲁B1234", "鲁BD123", "鲁BX12345", "鲁B123456789", "ABCDEFG"])
def test_malformed_plates_are_refused(plate):
    with pytest.raises(ValidationError):
        validate_plate(plate)


def test_unified_social_credit_codes_are_checked():
    first17 = "91350100M000100Y4"
    code = first17 + uscc_check_char(first17)
    assert validate_uscc(code) == code
    wrong = first17 + ("0" if code[-1] != "0" else "1")
    with pytest.raises(ValidationError):
        validate_uscc(wrong)


def test_mobile_numbers_are_normalised():
    assert validate_mobile("+86 138-0013-8000") == "13800138000"
    with pytest.raises(ValidationError):
        validate_mobile("1238001380")


def test_a_vehicle_colour_follows_its_plate(district):
    from linli.people import services

    admin, compound = district.admin, district.a.compound
    assert services.register_vehicle(actor=admin, compound=compound, plate="鲁BF12345").colour == "green"
    assert services.register_vehicle(actor=admin, compound=compound, plate="鲁B54321").colour == "blue"
    with pytest.raises(ValidationError) as err:
        services.register_vehicle(actor=admin, compound=compound, plate="鲁BD54321", colour="blue")
    assert "colour" in err.value.message_dict
