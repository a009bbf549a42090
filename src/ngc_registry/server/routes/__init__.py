"""HTTP routes. Each route names its action and scope; `policy.authorize` decides."""

from starlette.convertors import Convertor, register_url_convertor


class KindConvertor(Convertor):
    """`{kind:kind}` in a route matches only the two artifact kinds, so NGC paths never shadow each other."""

    regex = "models|resources"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("kind", KindConvertor())
