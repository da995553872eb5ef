"""Surveys (问卷调查) and suggestions put to the residents of a compound, with their results."""
