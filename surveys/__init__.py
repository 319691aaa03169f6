"""The survey domain, pure: definitions, answer parsing, scoring and eligibility rules."""

from surveys.definitions import Band, Metric, Survey, SurveyFile
from surveys.parsing import ParsedAnswer, parse_answer

__all__ = ["Band", "Metric", "ParsedAnswer", "Survey", "SurveyFile", "parse_answer"]
