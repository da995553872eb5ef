"""Log filter that masks ID and mobile numbers before any handler sees a record."""

from __future__ import annotations

import logging

from linli.core.masking import scrub


class PersonalDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
