"""The API's one request parser: JSON, strictly (backend/strict_json.py says what is refused and
why). A refused body is a 400 `invalid` naming the field at fault; text that is not JSON at all is a
`parse_error`. Nothing is created."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

from backend.strict_json import RefusedJSON, loads


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            return loads(stream.read().decode(encoding))
        except RefusedJSON as refused:
            raise ValidationError(refused.fields) from None
        except ValueError as exc:  # not JSON, or not in this encoding
            raise ParseError(f"JSON parse error - {exc}") from None
