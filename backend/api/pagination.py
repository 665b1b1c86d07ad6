from rest_framework.pagination import LimitOffsetPagination


def paginate(request, view, queryset, to_payload):
    """A page of `queryset` as {count, next, previous, results}, each item made by `to_payload`."""
    paginator = LimitOffsetPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response([to_payload(item) for item in page])
