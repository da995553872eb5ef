import os

import pytest


def pytest_configure(config):
    os.environ.setdefault("LINLI_DATA_DIR", os.path.join(os.path.dirname(__file__), "var", "test"))


@pytest.fixture
def district(db):
    from linli.core.testing import build_district

    return build_district()
