"""The API's one request parser."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, except that a body nested deeper than Python's parser can go (a few
    hundred bytes of "[[[[...") is a 400 like any other malformed body: the parser raises
    RecursionError, which is not a ValueError, and DRF let it through as a 500 (found by fuzzing)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
